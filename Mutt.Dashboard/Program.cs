using Mutt.Dashboard.Apis;
using Mutt.Dashboard.Auth;
using Mutt.Dashboard;
using Mutt.Dashboard.Components;

var builder = WebApplication.CreateBuilder(args);
// Radzen's _content/ assets come from the build output when not published, in every environment.
builder.WebHost.UseStaticWebAssets();
builder.ConfigureMuttHttps();
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.UseDashboardPipeline();
app.MapDefaultEndpoints();
app.MapLoginEndpoints();
app.MapBlazorScript();
app.MapManagementApi();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode().RequireAuthorization();
await app.RunAsync();

namespace Mutt.Dashboard
{
    /// <summary>Marker type for WebApplicationFactory (several services have a Program class).</summary>
    public sealed class DashboardMarker;
}
