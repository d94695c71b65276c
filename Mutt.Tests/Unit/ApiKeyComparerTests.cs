using Mutt.Core.Security;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class ApiKeyComparerTests
{
    [Theory]
    [InlineData("s3cret-key", "s3cret-key", true)]
    [InlineData("s3cret-kez", "s3cret-key", false)]
    [InlineData("s3cret", "s3cret-key", false)]
    [InlineData("s3cret-key-longer", "s3cret-key", false)]
    [InlineData("", "s3cret-key", false)]
    [InlineData(null, "s3cret-key", false)]
    [InlineData("anything", null, false)]
    [InlineData("", "", false)]
    public void Matches_only_equal_non_empty_keys(string? presented, string? expected, bool result)
    {
        Assert.Equal(result, ApiKeyComparer.Matches(presented, expected));
    }
}
