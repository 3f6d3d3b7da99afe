using Alicia.Contracts.Messages;
using Alicia.Engine.Registry;
using Alicia.Engine.Security.Gateway;
using Alicia.Tools.Models;
using Alicia.Tools.Mosquitto;
using Alicia.Tools.Simulation;

namespace Alicia.Tools.Tests;

public sealed class ToolOutputTests : IDisposable
{
    private readonly TempDirectory _dir = new("alicia-tools");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_mosquitto_acl_gives_each_identity_its_policy_and_skips_names_that_could_break_the_file()
    {
        string acl = MosquittoConfig.Acl([
            new IdentityRecord("kitchen-sensor", IdentityKind.Sensor),
            new IdentityRecord("bad\nname", IdentityKind.Sensor),
        ]);
        Assert.Contains("user kitchen-sensor", acl);
        Assert.Contains("topic write alicia/devices/kitchen-sensor/#", acl);
        Assert.Contains("topic read alicia/devices/kitchen-sensor/command", acl);
        Assert.DoesNotContain("bad", acl);
        // A device writes in its own subtree (and a sensor on the shared telemetry topic), in no other device's.
        Assert.All(acl.Split('\n').Where(l => l.StartsWith("topic write alicia/devices/", StringComparison.Ordinal)),
            l => Assert.True(l.StartsWith("topic write alicia/devices/kitchen-sensor/", StringComparison.Ordinal) || l == "topic write alicia/devices/sensors/telemetry", l));
        Assert.Contains("topic read alicia/#", MosquittoConfig.PlainAcl(anonymousRead: true));
        Assert.DoesNotContain("topic", MosquittoConfig.PlainAcl(anonymousRead: false).Split('\n').Where(l => !l.StartsWith('#')));
    }

    [Fact]
    public void A_random_whisper_model_has_the_ggml_header_with_the_dimensions_asked_and_is_written_once()
    {
        string path = RandomWhisperModel.GetOrCreate(_dir.Path, WhisperDimensions.Micro);
        DateTime written = File.GetLastWriteTimeUtc(path);
        using (var reader = new BinaryReader(File.OpenRead(path)))
        {
            Assert.Equal(0x67676d6cu, reader.ReadUInt32()); // "ggml"
            int[] header = [.. Enumerable.Range(0, 10).Select(_ => reader.ReadInt32())];
            WhisperDimensions d = WhisperDimensions.Micro;
            Assert.Equal([d.Vocab, d.AudioContext, d.AudioState, d.AudioHeads, d.AudioLayers, d.TextContext, d.TextState, d.TextHeads, d.TextLayers, d.Mels], header);
        }
        Assert.Equal(path, RandomWhisperModel.GetOrCreate(_dir.Path, WhisperDimensions.Micro));
        Assert.Equal(written, File.GetLastWriteTimeUtc(path));
        Assert.NotEqual(path, RandomWhisperModel.GetOrCreate(_dir.Path, WhisperDimensions.Micro with { Talkative = true }));
    }

    [Theory]
    [InlineData("Sensor")]
    [InlineData("Bulb")]
    [InlineData("Switch")]
    [InlineData("Speaker")]
    public void Every_simulated_device_describes_itself_in_a_registration_the_registry_accepts(string kindName)
    {
        SimulatedKind kind = Enum.Parse<SimulatedKind>(kindName);
        DeviceRegistration registration = SimulatedDevice.Describe("sim-" + kind.ToString().ToLowerInvariant() + "-1", kind, "kitchen");
        Assert.Null(RegistrationValidator.Validate(registration, new RegistryOptions()));
        Assert.Equal("kitchen", registration.Metadata.Location);
        Assert.NotEmpty(registration.Capabilities.Capabilities);
    }
}
