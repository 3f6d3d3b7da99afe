// Registers devices in a registry database, says so on stdout once each transaction committed, then
// waits to be killed with SIGKILL: no dispose, no checkpoint, no clean close of SQLite.
using Alicia.Engine.Registry;
using Alicia.Tools.Simulation;

string path = args[0];
var store = new RegistryStore(path);
var registry = new DeviceRegistry(store);
for (int i = 1; i < args.Length; i++)
{
    RegistrationOutcome outcome = registry.Register(SimulatedDevice.Describe(args[i], SimulatedKind.Bulb, "kitchen"), "crash-child");
    Console.Out.WriteLine($"{outcome.Outcome} {args[i]}");
}
Console.Out.WriteLine("committed");
Console.Out.Flush();
Thread.Sleep(Timeout.Infinite);
GC.KeepAlive(registry);
