using Mutt.Core.Auth;
using Mutt.Core.Secrets;
using Mutt.Core.Security;

namespace Mutt.Dashboard.Auth;

/// <summary>
/// Which key is this, for the Dashboard: the legacy WEBUI_API_KEY (spec 004; from the secret store,
/// so a rotation applies at once) acts as an admin under a fixed name, and named keys of role viewer,
/// operator or admin act with their role. Ingest keys are refused here. Both checks are constant-time.
/// </summary>
public sealed class DashboardKeys(IServiceProvider services, ApiKeyRing ring)
{
    /// <summary>The name the legacy key is recorded under (changed_by); a ':' no named key can contain.</summary>
    public const string LegacyKeyName = "legacy:WEBUI_API_KEY";

    public ApiKeyIdentity? Validate(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }
        if (ApiKeyComparer.Matches(presented, ApiKeyDefaults.Expected(services)))
        {
            return new ApiKeyIdentity(LegacyKeyName, MuttRoles.Admin);
        }
        return ring.Find(presented) is { } named && MuttRoles.IsOperatorRole(named.Role) ? named : null;
    }
}
