using Alicia.Engine.Security;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Engine.Tests.Security;

public sealed class ReplayFilterTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void Second_sighting_inside_the_window_is_refused()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 16, _clock);
        Guid id = Guid.NewGuid();
        Assert.True(filter.TryRecord(id));
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(filter.TryRecord(id));
    }

    [Fact]
    public void Ids_are_forgotten_after_the_window()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 16, _clock);
        Guid id = Guid.NewGuid();
        Assert.True(filter.TryRecord(id));
        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.True(filter.TryRecord(Guid.NewGuid()));
        Assert.Equal(1, filter.Count);
        Assert.True(filter.TryRecord(id));
    }

    [Fact]
    public void A_full_ring_forgets_the_oldest_first()
    {
        var filter = new ReplayFilter(TimeSpan.FromMinutes(5), 4, _clock);
        Guid[] ids = [.. Enumerable.Range(0, 5).Select(_ => Guid.NewGuid())];
        foreach (Guid id in ids) Assert.True(filter.TryRecord(id));
        Assert.Equal(4, filter.Count);
        Assert.False(filter.TryRecord(ids[4]));
        Assert.False(filter.TryRecord(ids[1]));
        Assert.True(filter.TryRecord(ids[0]));
    }

    [Fact]
    public void Recording_allocates_nothing_once_sized()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(1), 1024, _clock);
        Guid[] ids = [.. Enumerable.Range(0, 4096).Select(_ => Guid.NewGuid())];
        for (int i = 0; i < 2048; i++) filter.TryRecord(ids[i]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 2048; i < 4096; i++) filter.TryRecord(ids[i]);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
