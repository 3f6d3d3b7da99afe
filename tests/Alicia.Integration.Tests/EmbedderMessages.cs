using Alicia.Contracts;

namespace Alicia.Integration.Tests;

/// <summary>A message type that is not Alicia's: declared in this assembly, as an embedder declares its own.</summary>
[AliciaMessage("alicia/integration/acme/greetings/{name}", Kind = MessageKind.Event)]
public sealed partial class Greeting
{
    public string Text { get; set; } = "";
    public int Count { get; set; }
}
