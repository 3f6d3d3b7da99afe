using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Voice;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Voice.Tests;

/// <summary>
/// Tokens nobody claims (a client whose TLS handshake failed, or one that asks and never connects) hold a
/// place until they expire, and no longer: the session limit must not fill up for good.
/// </summary>
public sealed class SessionLimitTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow); // the engine's clock; advanced by hand, within the bus's clock skew
    private TestEngine _test = null!;

    public async Task InitializeAsync() =>
        _test = await TestEngine.StartAsync(services: e => e.AddService(new VoiceService(new VoiceOptions { VadModelPath = TestAudio.VadModelPath, MaxSessions = 2, TokenLifetime = TimeSpan.FromSeconds(10) })),
            clock: _clock);

    public async Task DisposeAsync() => await _test.DisposeAsync();

    [Fact]
    public async Task Unclaimed_tokens_hold_places_only_until_they_expire()
    {
        await using AliciaBus satellite = await _test.ClientAsync("sat-" + Guid.NewGuid().ToString("N")[..6]);
        async Task<VoiceSessionResponse> Ask() => (await satellite.RequestAsync<VoiceSessionRequest, VoiceSessionResponse>(new VoiceSessionRequest(), "alicia-engine", timeout: VoiceEngineHarness.Wait)).Data;

        Assert.True((await Ask()).Accepted);
        Assert.True((await Ask()).Accepted);
        VoiceSessionResponse full = await Ask();
        Assert.False(full.Accepted);
        Assert.Equal("busy: 2 voice sessions already open", full.Error);

        _clock.Advance(TimeSpan.FromSeconds(11)); // both tokens expire unclaimed
        Assert.True((await Ask()).Accepted);
        Assert.True((await Ask()).Accepted);
        Assert.False((await Ask()).Accepted);
    }
}
