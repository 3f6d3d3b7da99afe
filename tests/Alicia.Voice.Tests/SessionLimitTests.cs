using Alicia.Contracts.Messages;
using Alicia.Engine.Bus;
using Alicia.Engine.Hosting;
using Alicia.Engine.Monitoring;
using Alicia.Engine.Security;
using Alicia.Voice;
using Microsoft.Extensions.Time.Testing;

namespace Alicia.Voice.Tests;

/// <summary>
/// Tokens nobody claims (a client whose TLS handshake failed, or one that asks and never connects) hold a
/// place until they expire, and no longer: the session limit must not fill up for good.
/// </summary>
public sealed class SessionLimitTests : IAsyncLifetime
{
    private readonly string _keys = Path.Combine(Path.GetTempPath(), "alicia-voice-keys-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow); // the engine's clock; advanced by hand, within the bus's clock skew
    private AliciaEngine _engine = null!;

    public async Task InitializeAsync()
    {
        _engine = new AliciaEngine(new AliciaEngineOptions { KeyDirectory = _keys, Broker = new EmbeddedBrokerOptions { Port = 0 } }, clock: _clock);
        _engine.AddService(new VoiceService(new VoiceOptions { VadModelPath = TestAudio.VadModelPath, MaxSessions = 2, TokenLifetime = TimeSpan.FromSeconds(10) }));
        await _engine.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    [Fact]
    public async Task Unclaimed_tokens_hold_places_only_until_they_expire()
    {
        await using AliciaBus satellite = await AliciaBus.ConnectAsync(_engine.ClientEndpoint!, _engine.Keys.Create("sat-" + Guid.NewGuid().ToString("N")[..6]),
            new EnvelopeVerifier(new TrustStore(_engine.Keys), metrics: new BusMetrics()));
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
