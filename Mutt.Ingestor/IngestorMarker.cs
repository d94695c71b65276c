namespace Mutt.Ingestor;

/// <summary>A public type in this assembly for WebApplicationFactory and assembly lookups (several services have a Program class).</summary>
public sealed class IngestorMarker;
