using System.Text.RegularExpressions;
using Mutt.Core.Rules;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class RegexLiteralPrefixTests
{
    [Theory]
    [InlineData(@"^%RGX14-\d+-[A-Z]+:", "%RGX14-", true)]
    [InlineData(@"%SYS-[0-3]-[A-Z_]+", "%SYS-", false)]
    [InlineData(@"^LINK-DOWN", "LINK-DOWN", true)]
    [InlineData(@"^abc*", "ab", true)]          // c is optional
    [InlineData(@"^abc?d", "ab", true)]
    [InlineData(@"^abc{0,2}", "ab", true)]
    [InlineData(@"^abc+", "abc", true)]         // at least one c
    [InlineData(@"fan fail", "fan", false)]     // white space ends the run (IgnorePatternWhitespace-safe)
    public void The_leading_literal_run_is_the_prefix(string pattern, string text, bool anchored)
    {
        Assert.Equal(new RegexLiteralPrefix(text, anchored), RegexLiteralPrefix.Of(pattern));
    }

    [Theory]
    [InlineData(@"^a|b")]
    [InlineData(@"(?i)abc")]
    [InlineData(@"\d+ errors")]
    [InlineData(@"[A-Z]+-DOWN")]
    [InlineData(@"^.*LINK")]
    [InlineData(@"^a*")]
    [InlineData(@"^")]
    public void Patterns_without_a_plain_leading_literal_have_no_prefix(string pattern)
    {
        Assert.Null(RegexLiteralPrefix.Of(pattern));
    }

    [Fact]
    public void A_message_the_prefix_rejects_never_matches_the_regex()
    {
        string[] patterns = [@"^%RGX14-\d+-[A-Z]+:", @"%SYS-[0-3]-[A-Z_]+", @"^abc*d", @"^abc+", @"ab{2}c", @"^x?y", @"LINK-DOWN.*Gi0/1$", @"^a|b"];
        string[] messages = ["%RGX14-5-UPDOWN: x", "%RGX1-5-UPDOWN:", "x %SYS-2-BOOT", "%SYS-9-X", "abd", "abccd", "ad", "abcc", "ab", "abbc", "abc",
            "y", "xy", "zy", "LINK-DOWN on Gi0/1", "xb", "a", ""];
        foreach (var pattern in patterns)
        {
            var regex = new Regex(pattern, RegexOptions.CultureInvariant);
            var prefix = RegexLiteralPrefix.Of(pattern);
            foreach (var message in messages)
            {
                if (prefix is { } p && !p.MayMatch(message))
                {
                    Assert.False(regex.IsMatch(message), $"{pattern} matches {message} although its prefix {p} rejected it");
                }
            }
        }
    }
}
