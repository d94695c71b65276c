namespace Mutt.Core.Rules;

/// <summary>
/// The literal text every match of a rule regex must begin with, when the pattern says so plainly:
/// the run of ordinary characters at its start (after a leading <c>^</c>). A message without that
/// text cannot match, so the rule is rejected with an ordinal <c>StartsWith</c> (anchored) or
/// <c>Contains</c> (unanchored) instead of a regex run, whose timeout bookkeeping costs more than the
/// match itself on the Alerter's hot path. Conservative: no prefix (always run the regex) for a
/// pattern with an alternation anywhere, or starting with an escape, a class, a group or an option.
/// Only for patterns compiled without IgnoreCase, Multiline or IgnorePatternWhitespace (the rules' options).
/// </summary>
public readonly record struct RegexLiteralPrefix(string Text, bool Anchored)
{
    private const string Special = "\\.[](){}*+?|^$#";

    /// <summary>The prefix of <paramref name="pattern"/>, or null when it has none that is safe to use.</summary>
    public static RegexLiteralPrefix? Of(string pattern)
    {
        if (pattern.Contains('|'))
        {
            return null; // ^a|b matches "xb": one branch's prefix says nothing about the other
        }
        var anchored = pattern.StartsWith('^');
        var start = anchored ? 1 : 0;
        var end = start;
        while (end < pattern.Length && !Special.Contains(pattern[end]) && !char.IsWhiteSpace(pattern[end]))
        {
            end++;
        }
        // A quantifier after the run applies to its last character only: that character is optional.
        if (end < pattern.Length && pattern[end] is '*' or '?' or '{' or '+')
        {
            end = pattern[end] == '+' ? end : end - 1;
        }
        return end > start ? new RegexLiteralPrefix(pattern[start..end], anchored) : null;
    }

    /// <summary>False when <paramref name="message"/> cannot match the pattern this prefix came from.</summary>
    public bool MayMatch(string message) => Anchored
        ? message.StartsWith(Text, StringComparison.Ordinal)
        : message.Contains(Text, StringComparison.Ordinal);
}
