using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Mutt.Dashboard.Auth;

/// <summary>
/// Serves blazor.web.js from the embedded resource of the 9.0 Components.Endpoints assembly
/// copied to blazor-script/ at build. The assembly is read as metadata, never loaded.
/// </summary>
public static class BlazorScript
{
    private const string ResourceName = "_framework/blazor.web.js";
    private static readonly Lazy<byte[]?> Script = new(Extract);

    public static IEndpointRouteBuilder MapBlazorScript(this IEndpointRouteBuilder app)
    {
        app.MapGet("/" + ResourceName, () => Script.Value is { } bytes
                ? Results.Bytes(bytes, "text/javascript; charset=utf-8")
                : Results.NotFound())
            .AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static byte[]? Extract()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "blazor-script", "Microsoft.AspNetCore.Components.Endpoints.dll");
        if (!File.Exists(path))
        {
            return null;
        }
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        foreach (var handle in md.ManifestResources)
        {
            var resource = md.GetManifestResource(handle);
            if (md.GetString(resource.Name) != ResourceName)
            {
                continue;
            }
            var reader = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress).GetReader();
            reader.Offset = (int)resource.Offset;
            return reader.ReadBytes(reader.ReadInt32());
        }
        return null;
    }
}
