using Mutt.MoogSink.Apis;
using Mutt.MoogSink.Sink;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSingleton<SinkStore>();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapMoogEventsApi();
app.MapSinkControlApi();
await app.RunAsync();

namespace Mutt.MoogSink
{
    /// <summary>Marker for WebApplicationFactory (several Program classes exist in the solution).</summary>
    public sealed class MoogSinkMarker;
}
