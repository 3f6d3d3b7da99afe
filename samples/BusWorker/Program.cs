using Alicia.Engine.Hosting;
using BusWorker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// A bus-only worker that embeds Alicia: the engine with its embedded MQTT 5 broker in a Generic Host, one message
// type of its own beside Alicia's, no voice. It exchanges signed greetings, then stops (GreetingExchange).
//
//   dotnet run                                        a free loopback port, keys in .alicia/keys
//   dotnet run -- --Alicia:Broker:Port=1884 --Alicia:KeyDirectory=/tmp/keys --Alicia:DataDirectory=/tmp/data
HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services
    .AddAlicia(o =>
    {
        o.Name = "bus-worker";
        o.Broker.ListenAddress = "127.0.0.1";
        o.Broker.Port = 0; // 0: a free port (Alicia's own default is MQTT's 1883)
        builder.Configuration.GetSection("Alicia").Bind(o); // then appsettings.json, ALICIA__..., --Alicia:...
    })
    .AddMessages(AliciaMessageSet.Instance); // generated for this assembly from its [AliciaMessage] types
builder.Services.AddHostedService<GreetingExchange>();

using IHost host = builder.Build();
await host.RunAsync();
return Environment.ExitCode;
