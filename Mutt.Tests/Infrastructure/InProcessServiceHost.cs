using System.Collections;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace Mutt.Tests.Infrastructure;

/// <summary>
/// A MUTT service in the test process, built the way its Program.cs builds it (AddServiceDefaults,
/// AddMuttDefaults, AddApplicationServices, MapDefaultEndpoints, its APIs) on a loopback port: for tests that need
/// its in-process state, such as the spans its OpenTelemetry pipeline exports.
/// </summary>
public sealed class InProcessServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessServiceHost(WebApplication app)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = new Uri(BaseAddress), Timeout = TimeSpan.FromSeconds(30) };
    }

    public IServiceProvider Services => _app.Services;
    public HttpClient Http { get; }

    public string BaseAddress => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async Task<InProcessServiceHost> StartAsync(string applicationName, IDictionary<string, string?> settings,
        Action<WebApplicationBuilder> addApplicationServices, Action<WebApplication>? mapApis = null, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = applicationName, EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        builder.AddMuttDefaults();
        addApplicationServices(builder);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        mapApis?.Invoke(app);
        await app.StartAsync();
        return new InProcessServiceHost(app);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// Spans exported by OpenTelemetry's in-memory exporter. Thread-safe: spans stop on many threads,
/// and the exporter adds them to a plain collection without locking.
/// </summary>
public sealed class ExportedSpans : ICollection<Activity>
{
    private readonly List<Activity> _spans = [];

    /// <summary>Registers the in-memory exporter on a host's TracerProvider (ServiceDefaults builds it).</summary>
    public void AddTo(IServiceCollection services) =>
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(this));

    public Activity[] Snapshot()
    {
        lock (_spans)
        {
            return [.. _spans];
        }
    }

    public int Count => Snapshot().Length;
    public bool IsReadOnly => false;

    public void Add(Activity item)
    {
        lock (_spans)
        {
            _spans.Add(item);
        }
    }

    public void Clear()
    {
        lock (_spans)
        {
            _spans.Clear();
        }
    }

    public bool Contains(Activity item) => Snapshot().Contains(item);
    public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);
    public bool Remove(Activity item)
    {
        lock (_spans)
        {
            return _spans.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
