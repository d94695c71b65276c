using Mutt.Remediation.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();

namespace Mutt.Remediation
{
    /// <summary>Marker for WebApplicationFactory (several Program classes exist in the solution).</summary>
    public sealed class RemediationMarker;
}
