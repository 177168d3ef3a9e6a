using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Grpo.Cli.Serve;

/// <summary>
/// A bare Kestrel application on one address and port (port 0: a free one), HTTP only, with routing and nothing else:
/// no appsettings.json read from the working directory and no logging, so a command's stdout holds only its own lines.
/// <c>grpo serve</c> runs on it, and so does the tests' fake rollout server, which compiles this file in.
/// </summary>
static class LoopbackHost
{
    /// <summary>An application that will listen on <paramref name="address"/>:<paramref name="port"/>; map its endpoints, then <see cref="StartAsync"/>.</summary>
    /// <param name="address">Where to listen; loopback keeps other machines out.</param>
    /// <param name="port">The port; 0 picks a free one.</param>
    /// <param name="shutdownTimeout">How long stopping waits for requests in flight; null for ASP.NET Core's default (30 s).</param>
    public static WebApplication Create(IPAddress address, int port, TimeSpan? shutdownTimeout = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(address, port));
        builder.Services.AddRoutingCore();
        if (shutdownTimeout is { } timeout) builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = timeout);
        return builder.Build();
    }

    /// <summary>Starts <paramref name="app"/> and returns the address it listens on, with the actual port when port 0 was asked for.</summary>
    public static async Task<Uri> StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        await app.StartAsync(cancellationToken);
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }
}
