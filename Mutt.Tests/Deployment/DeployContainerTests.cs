using System.Text.Json;

namespace Mutt.Tests.Deployment;

/// <summary>
/// Container image settings (Directory.Build.targets), as the SDK sees them after its own
/// ComputeContainerConfig target ran. Nothing is built or pushed: that needs registries this
/// machine cannot reach.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DeployContainerTests
{
    /// <summary>Project, image repository, exposed ports, ASPNETCORE_URLS (null: the image serves nothing).</summary>
    public static TheoryData<string, string, string[], string?> Services() => new()
    {
        { "Mutt.Ingestor", "mutt/ingestor", ["8080/tcp", "5514/tcp", "5514/udp", "1162/udp"], "http://+:8080" },
        { "Mutt.Alerter", "mutt/alerter", ["8081/tcp", "8082/tcp"], "http://+:8081;http://+:8082" },
        { "Mutt.Forwarder", "mutt/moog-forwarder", ["8083/tcp", "8084/tcp"], "http://+:8083;http://+:8084" },
        { "Mutt.Dashboard", "mutt/webui", ["8090/tcp"], "http://+:8090" },
        { "Mutt.Remediation", "mutt/remediation", ["8086/tcp", "8087/tcp"], "http://+:8086;http://+:8087" },
        { "Mutt.MoogSink", "mutt/moog-sink", ["8095/tcp"], "http://+:8095" },
        { "Mutt.DbManager", "mutt/dbmanager", [], null },
    };

    /// <summary>Property and item values after <paramref name="target"/> ran (after evaluation only when null).</summary>
    private static async Task<JsonElement> EvaluateAsync(string project, string? target)
    {
        string[] run = target is null ? [] : [$"-t:{target}"];
        var result = await DeployTestSupport.RunAsync("dotnet",
        [
            "msbuild", Path.Combine(project, project + ".csproj"), "-nologo", .. run, "-p:Configuration=Release",
            "-getProperty:ContainerRepository", "-getProperty:ContainerImageTags", "-getProperty:ContainerBaseImage",
            "-getProperty:ContainerUser", "-getProperty:Version",
            "-getItem:ContainerPort", "-getItem:ContainerEnvironmentVariable",
        ], timeout: TimeSpan.FromSeconds(180));
        Assert.True(result.ExitCode == 0, result.All);
        return JsonDocument.Parse(result.StdOut).RootElement;
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Service_image_settings_apply(string project, string repository, string[] ports, string? urls)
    {
        var json = await EvaluateAsync(project, "ComputeContainerConfig");
        var properties = json.GetProperty("Properties");
        var items = json.GetProperty("Items");

        Assert.Equal(repository, properties.GetProperty("ContainerRepository").GetString());
        var version = properties.GetProperty("Version").GetString();
        Assert.Equal($"{version};latest", properties.GetProperty("ContainerImageTags").GetString());
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", properties.GetProperty("ContainerBaseImage").GetString());
        Assert.Equal("app", properties.GetProperty("ContainerUser").GetString());

        var exposed = Items(items, "ContainerPort")
            .Select(p => $"{p.GetProperty("Identity").GetString()}/{p.GetProperty("Type").GetString()}").ToArray();
        Assert.Equal(ports, exposed);
        var environment = Items(items, "ContainerEnvironmentVariable")
            .ToDictionary(e => e.GetProperty("Identity").GetString()!, e => e.GetProperty("Value").GetString());
        Assert.Equal(urls, environment.GetValueOrDefault("ASPNETCORE_URLS"));
        Assert.Equal("30", environment["DOTNET_SHUTDOWNTIMEOUTSECONDS"]);
    }

    /// <summary>An item type's items; msbuild leaves the type out when it has none.</summary>
    private static IEnumerable<JsonElement> Items(JsonElement items, string type) =>
        items.TryGetProperty(type, out var list) ? list.EnumerateArray() : [];

    /// <summary>
    /// The deploy/k8s generator names images from the same settings (Directory.Build.targets), so what
    /// CI builds and what the manifests pull agree.
    /// </summary>
    [Fact]
    public void The_kubernetes_generator_reads_every_image_repository_from_the_container_settings()
    {
        var build = Mutt.AppHost.KubernetesGenerator.BuildSettings.Read(DeployTestSupport.RepositoryRoot);
        foreach (var (project, repository) in Services().Select(row => ((string)row[0], (string)row[1])))
        {
            Assert.Equal(repository, build.Repositories.GetValueOrDefault(project));
        }
    }

    [Fact]
    public async Task Projects_that_are_not_deployed_get_no_mutt_image()
    {
        foreach (var project in new[] { "Mutt.Core", "Mutt.ServiceDefaults" })
        {
            var json = await EvaluateAsync(project, target: null);
            Assert.Equal("", json.GetProperty("Properties").GetProperty("ContainerRepository").GetString());
        }
    }
}
