namespace Mutt.AppHost;

/// <summary>STUB: deploy/k8s from the Aspire manifest (being written).</summary>
public static class KubernetesGenerator
{
    public static int Write(string manifestPath, string outputDirectory) => throw new NotImplementedException(manifestPath + outputDirectory);
}
