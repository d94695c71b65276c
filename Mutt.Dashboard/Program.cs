using Mutt.Dashboard.Apis;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard;
using Mutt.Dashboard.Components;

var builder = WebApplication.CreateBuilder(args);
// Static web assets (_framework/blazor.web.js, Radzen's _content/) come from the build output when
// not published, in every environment: services run as Production under the AppHost.
builder.WebHost.UseStaticWebAssets();
builder.ConfigureMuttHttps();
builder.AddServiceDefaults();
builder.AddMuttDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.UseDashboardPipeline();
app.MapDefaultEndpoints();
app.MapLoginEndpoints();
app.MapOidcSignIn(app.Configuration);
app.MapDashboardOpenApi();
app.MapRulesApi();
app.MapHostsApi();
app.MapTeamsApi();
app.MapAuditApi();
app.MapConfigApi();
app.MapDeadLettersApi();
app.MapMetricsApi();
app.MapMaintenanceApi();
app.MapCorrelationRulesApi();
app.MapMappingsApi();
app.MapUsersApi();
app.MapApiKeysApi();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode().RequireAuthorization(MuttPolicies.Viewer);
await app.RunAsync();

namespace Mutt.Dashboard
{
    /// <summary>Marker type for WebApplicationFactory (several services have a Program class).</summary>
    public sealed class DashboardMarker;
}
