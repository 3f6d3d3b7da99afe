using Alicia.Contracts;

namespace BusWorker;

/// <summary>
/// A message type of our own. Alicia.Contracts' source generator (it comes with the Alicia.Engine package) gives it
/// its MessagePack and JSON serializers, <c>Greeting.BuildTopic(name)</c> and <c>TryParseTopic</c>, and lists it in
/// the generated <c>BusWorker.AliciaMessageSet.Instance</c> that Program.cs registers with <c>AddMessages</c>.
/// </summary>
[AliciaMessage("alicia/samples/greetings/{name}", Kind = MessageKind.Event)]
public sealed partial class Greeting
{
    public string Text { get; set; } = "";

    public DateTimeOffset SentAt { get; set; }
}
