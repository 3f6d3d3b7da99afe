using Alicia.Engine.Bus;

namespace Alicia.Engine.Tests.Bus;

public sealed class BusPartsTests
{
    [Theory]
    [InlineData("mqtt://broker.local", "broker.local", 1883, false)]
    [InlineData("mqtt://127.0.0.1:1884", "127.0.0.1", 1884, false)]
    [InlineData("mqtts://hub:8884", "hub", 8884, true)]
    [InlineData("mqtts://hub", "hub", 8883, true)]
    public void Broker_urls_parse(string url, string host, int port, bool tls)
    {
        BrokerEndpoint e = BrokerEndpoint.Parse(url);
        Assert.Equal((host, port, tls), (e.Host, e.Port, e.UseTls));
    }

    [Theory]
    [InlineData("http://x")]
    [InlineData("broker:1883")]
    [InlineData("")]
    public void Bad_broker_urls_say_what_is_expected(string url)
    {
        var e = Assert.Throws<FormatException>(() => BrokerEndpoint.Parse(url));
        Assert.Contains("mqtt://host:port", e.Message);
    }

    [Theory]
    [InlineData("$share/stt/alicia/voice/stt/request", true, "stt", "alicia/voice/stt/request")]
    [InlineData("$share/g/a/+/b", true, "g", "a/+/b")]
    [InlineData("alicia/voice/stt/request", false, "", "")]
    [InlineData("$share//x", false, "", "")]
    [InlineData("$share/g/", false, "", "")]
    [InlineData("$share/+/x", false, "", "")]
    public void Shared_subscription_filters_parse(string filter, bool ok, string group, string topic)
    {
        Assert.Equal(ok, SharedSubscriptions.TryParse(filter, out string g, out string t));
        if (ok) Assert.Equal((group, topic), (g, t));
    }
}
