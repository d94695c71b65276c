using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Mutt.Core.Auth;
using Mutt.Dashboard.Auth;
using Mutt.Core.Security;
using Mutt.Tests.Infrastructure;

namespace Mutt.Tests.Unit;

/// <summary>The pure parts of issue 17: roles, the key format and ring, the failure limit, the OIDC role mapping, passwords.</summary>
[Trait("Category", "Unit")]
public sealed class OperatorAuthPolicyTests
{
    [Theory]
    [InlineData("viewer", "viewer", true)]
    [InlineData("operator", "viewer", true)]
    [InlineData("admin", "operator", true)]
    [InlineData("viewer", "operator", false)]
    [InlineData("operator", "admin", false)]
    [InlineData("ingest", "viewer", false)]
    [InlineData(null, "viewer", false)]
    public void Each_role_includes_the_weaker_ones_and_ingest_none(string? role, string minimum, bool allowed) =>
        Assert.Equal(allowed, MuttRoles.Satisfies(role, minimum));

    [Fact]
    public void Generated_keys_have_the_documented_format_and_only_their_hash_identifies_them()
    {
        var a = ApiKeySecret.Generate();
        var b = ApiKeySecret.Generate();
        Assert.Matches("^mutt_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$", a.Secret);
        Assert.Equal(ApiKeySecret.Length, a.Secret.Length);
        Assert.NotEqual(a.Secret, b.Secret);
        Assert.True(ApiKeySecret.TryGetPrefix(a.Secret, out var prefix));
        Assert.Equal(a.Prefix, prefix.ToString());
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(a.Secret)), a.Hash);
        Assert.False(ApiKeySecret.TryGetPrefix("legacy-ingest-key", out _));
        Assert.False(ApiKeySecret.TryGetPrefix(a.Secret + "x", out _));
    }

    [Fact]
    public void Ring_finds_active_keys_by_prefix_and_hash_and_forgets_them_when_replaced()
    {
        var ingest = ApiKeySecret.Generate();
        var viewer = ApiKeySecret.Generate();
        var ring = new ApiKeyRing();
        ring.Replace([new ApiKeyRecord(1, "solarwinds-dc1", ingest.Prefix, ingest.Hash, MuttRoles.Ingest), new ApiKeyRecord(2, "grafana", viewer.Prefix, viewer.Hash, MuttRoles.Viewer)]);

        Assert.Equal(new ApiKeyIdentity("solarwinds-dc1", MuttRoles.Ingest), ring.Find(ingest.Secret));
        Assert.Equal("grafana", ring.Find(viewer.Secret)?.Name);
        // Right prefix, wrong secret; unknown prefix; not a named key at all.
        Assert.Null(ring.Find(ingest.Secret[..^1] + (ingest.Secret[^1] == 'A' ? 'B' : 'A')));
        Assert.Null(ring.Find(ApiKeySecret.Generate().Secret));
        Assert.Null(ring.Find("test-ingest-key"));

        var used = ring.TakeUsage();
        Assert.Equal([1, 2], used.Select(u => u.Id).Order());
        Assert.All(used, u => Assert.InRange(u.LastUsedUtc, DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddSeconds(1)));
        Assert.Empty(ring.TakeUsage());

        ring.Replace([new ApiKeyRecord(2, "grafana", viewer.Prefix, viewer.Hash, MuttRoles.Viewer)]); // solarwinds-dc1 revoked
        Assert.Null(ring.Find(ingest.Secret));
        Assert.Equal("grafana", ring.Find(viewer.Secret)?.Name);
    }

    [Fact]
    public void The_limit_th_failure_blocks_the_address_until_its_window_ends_and_other_addresses_stay_free()
    {
        using var meters = new TestMeterFactory();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AUTH_FAILURE_LIMIT"] = "10", ["AUTH_FAILURE_WINDOW_SECONDS"] = "60" }).Build();
        using var guard = new AuthFailureGuard(meters, configuration, NullLogger<AuthFailureGuard>.Instance);
        var attacker = IPAddress.Parse("192.0.2.7");
        for (var i = 1; i < 10; i++)
        {
            guard.RecordFailure(attacker, "sign_in");
            Assert.False(guard.IsBlocked(attacker, out _), $"blocked after {i} failures");
        }
        guard.RecordFailure(attacker, "sign_in");
        Assert.True(guard.IsBlocked(attacker, out var retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.False(guard.IsBlocked(IPAddress.Parse("192.0.2.8"), out _));
        Assert.Equal("60", AuthFailureGuard.RetryAfterSeconds(TimeSpan.FromSeconds(59.2)));
    }

    [Fact]
    public void Oidc_claim_values_give_the_strongest_listed_role_or_none()
    {
        var mapping = OidcRoleMapping.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OIDC_ADMIN_VALUES"] = "mutt-admins",
            ["OIDC_OPERATOR_VALUES"] = "noc, netops",
            ["OIDC_VIEWER_VALUES"] = "staff",
        }).Build());
        Assert.Equal(MuttRoles.Admin, mapping.RoleFor(["staff", "mutt-admins"]));
        Assert.Equal(MuttRoles.Operator, mapping.RoleFor(["netops"]));
        Assert.Equal(MuttRoles.Viewer, mapping.RoleFor(["staff"]));
        Assert.Null(mapping.RoleFor(["Staff", "guests"]));
    }

    [Fact]
    public void Passwords_are_hashed_with_a_salt_verified_and_short_ones_refused()
    {
        var a = OperatorPasswords.Hash("correct horse battery");
        Assert.NotEqual(a, OperatorPasswords.Hash("correct horse battery"));
        Assert.DoesNotContain("correct", a, StringComparison.Ordinal);
        Assert.True(OperatorPasswords.Verify(a, "correct horse battery", out var rehash));
        Assert.False(rehash);
        Assert.False(OperatorPasswords.Verify(a, "correct horse batterY", out _));
        Assert.False(OperatorPasswords.Verify(null, "anything", out _));
        Assert.NotNull(OperatorPasswords.Validate("short"));
        Assert.Null(OperatorPasswords.Validate("twelve chars"));
    }
}
