using Mutt.Forwarder.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();

namespace Mutt.Forwarder
{
    /// <summary>Marker for WebApplicationFactory (several Program classes exist in the solution).</summary>
    public sealed class ForwarderMarker;
}
