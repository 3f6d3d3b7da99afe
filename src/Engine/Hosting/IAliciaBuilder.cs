using Microsoft.Extensions.DependencyInjection;

namespace Alicia.Engine.Hosting;

/// <summary>What <c>services.AddAlicia()</c> returns: capabilities are added to it (<c>.AddGateway().AddRegistry()</c>).</summary>
public interface IAliciaBuilder
{
    IServiceCollection Services { get; }
}

internal sealed class AliciaBuilder(IServiceCollection services) : IAliciaBuilder
{
    public IServiceCollection Services { get; } = services;
}
