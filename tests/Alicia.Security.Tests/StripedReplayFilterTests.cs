using Alicia.Engine.Security;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Security.Tests;

/// <summary>The replay filter split into stripes (one lock each), as every verifier shares it across cores.</summary>
public sealed class StripedReplayFilterTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void Verifiers_get_two_stripes_per_core_up_to_sixteen()
    {
        Assert.Equal(2, ReplayFilter.StripesFor(1));
        Assert.Equal(4, ReplayFilter.StripesFor(2));
        Assert.Equal(8, ReplayFilter.StripesFor(3));
        Assert.Equal(16, ReplayFilter.StripesFor(64));
        Assert.Equal(4, new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, _clock, stripes: 4).Stripes);
        Assert.Equal(1, new ReplayFilter(TimeSpan.FromSeconds(60), 16, _clock, stripes: 4).Stripes); // a tiny cap is not split
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReplayFilter(TimeSpan.FromSeconds(60), 1024, _clock, stripes: 3));
    }

    [Fact]
    public void Every_replay_is_refused_and_every_id_expires_whatever_its_stripe()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, _clock, stripes: 8);
        Guid[] ids = [.. Enumerable.Range(0, 4000).Select(_ => Guid.NewGuid())];
        Assert.All(ids, id => Assert.True(filter.TryRecord(id)));
        Assert.Equal(4000, filter.Count);
        Assert.All(ids, id => Assert.True(filter.Contains(id)));
        Assert.All(ids, id => Assert.False(filter.TryRecord(id)));
        Assert.Equal(ReplayFilter.InitialCapacity, new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, _clock, stripes: 8).Capacity); // the same start size over all stripes

        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.All(ids, id => Assert.True(filter.TryRecord(id)));
    }

    [Fact]
    public void Two_threads_recording_the_same_ids_at_once_accept_each_id_exactly_once()
    {
        var filter = new ReplayFilter(TimeSpan.FromSeconds(60), 1 << 18, _clock, stripes: 4);
        Guid[] ids = [.. Enumerable.Range(0, 20_000).Select(_ => Guid.NewGuid())];
        int accepted = 0;
        using var start = new Barrier(2);
        void Record()
        {
            start.SignalAndWait();
            int mine = 0;
            foreach (Guid id in ids) if (filter.TryRecord(id)) mine++;
            Interlocked.Add(ref accepted, mine);
        }
        var other = new Thread(Record);
        other.Start();
        Record();
        other.Join();
        Assert.Equal(ids.Length, accepted);
        Assert.Equal(ids.Length, filter.Count);
    }
}
