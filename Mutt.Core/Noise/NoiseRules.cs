namespace Mutt.Core.Noise;

/// <summary>The noise-reduction rules of one cache load: maintenance windows and flapping rules, compiled.</summary>
public sealed record NoiseRules(MaintenanceSchedule Maintenance, FlappingRuleSet Flapping)
{
    public static NoiseRules Empty { get; } = new(MaintenanceSchedule.Empty, FlappingRuleSet.Empty);
}
