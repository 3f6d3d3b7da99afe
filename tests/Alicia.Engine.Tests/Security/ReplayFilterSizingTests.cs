using Alicia.Engine.Security;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Engine.Tests.Security;

/// <summary>The replay filter sizes itself to its traffic: small at first, grows to the window's ids, shrinks after a lull.</summary>
public sealed class ReplayFilterSizingTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void A_new_filter_starts_small_whatever_its_cap()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, _clock);
        Assert.Equal(ReplayFilter.InitialCapacity, filter.Capacity);
        Assert.True(filter.TryRecord(Guid.NewGuid()));
        Assert.Equal(ReplayFilter.InitialCapacity, filter.Capacity);
    }

    [Fact]
    public void It_grows_to_hold_every_id_of_the_window_without_forgetting_any_early()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, _clock);
        Guid[] ids = [.. Enumerable.Range(0, 5000).Select(_ => Guid.NewGuid())];
        foreach (Guid id in ids)
        {
            Assert.True(filter.TryRecord(id));
            _clock.Advance(TimeSpan.FromMilliseconds(5)); // 5,000 ids in 25 s: all inside the 60 s window
        }
        Assert.Equal(5000, filter.Count);
        Assert.Equal(8192, filter.Capacity); // 1024 doubled three times
        Assert.All(ids, id => Assert.False(filter.TryRecord(id))); // the first ones too: nothing was evicted early
    }

    [Fact]
    public void It_never_grows_past_its_cap_and_then_forgets_the_oldest()
    {
        var filter = new ReplayFilter(TimeSpan.FromMinutes(5), 2048, _clock);
        Guid[] ids = [.. Enumerable.Range(0, 2049).Select(_ => Guid.NewGuid())];
        foreach (Guid id in ids) Assert.True(filter.TryRecord(id));
        Assert.Equal(2048, filter.Capacity);
        Assert.Equal(2048, filter.Count);
        Assert.True(filter.TryRecord(ids[0])); // forgotten early (the skew check still guards it)
        Assert.False(filter.TryRecord(ids[2048]));
    }

    [Fact]
    public void After_a_lull_it_shrinks_back_and_still_refuses_replays()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(10), 1 << 18, _clock);
        for (int i = 0; i < 4000; i++) filter.TryRecord(Guid.NewGuid());
        Assert.Equal(4096, filter.Capacity);

        _clock.Advance(TimeSpan.FromSeconds(11)); // everything expires
        Guid[] quiet = [.. Enumerable.Range(0, 3).Select(_ => Guid.NewGuid())];
        foreach (Guid id in quiet) Assert.True(filter.TryRecord(id)); // each insert into a mostly empty ring halves it
        Assert.Equal(ReplayFilter.InitialCapacity, filter.Capacity);
        Assert.Equal(3, filter.Count);
        Assert.All(quiet, id => Assert.False(filter.TryRecord(id)));
    }

    [Fact]
    public void At_a_steady_rate_the_size_settles_and_recording_allocates_nothing()
    {
        // 100 ids/s in a 60 s window: ~6,000 live ids. Once sized (8192), a minute more allocates nothing.
        // A bare clock: advancing FakeTimeProvider may allocate, which would count against the filter.
        var clock = new SteppingClock();
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, clock);
        Guid[] ids = [.. Enumerable.Range(0, 18_000).Select(_ => Guid.NewGuid())];
        for (int i = 0; i < 12_000; i++) { filter.TryRecord(ids[i]); clock.Ticks += clock.TimestampFrequency / 100; }
        int settled = filter.Capacity;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 12_000; i < 18_000; i++) { filter.TryRecord(ids[i]); clock.Ticks += clock.TimestampFrequency / 100; }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(settled, filter.Capacity);
        Assert.Equal(8192, settled);
    }

    private sealed class SteppingClock : TimeProvider
    {
        public long Ticks;
        public override long GetTimestamp() => Ticks;
    }
}
