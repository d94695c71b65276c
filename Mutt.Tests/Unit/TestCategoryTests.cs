using System.Reflection;

namespace Mutt.Tests.Unit;

/// <summary>
/// `./mutt.sh test --filter Category=Unit` is only quick, and `Category=Integration` / `Category=System`
/// only complete, when every test carries exactly one of the three categories (on its class, or on the
/// method where a class is split by what its tests start).
/// </summary>
[Trait("Category", "Unit")]
public sealed class TestCategoryTests
{
    private static readonly string[] Categories = ["Unit", "Integration", "System"];

    [Fact]
    public void Every_test_has_exactly_one_category()
    {
        var tests = typeof(TestCategoryTests).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(method => method.GetCustomAttributes<FactAttribute>().Any())
                .Select(method => (Name: $"{type.FullName}.{method.Name}", Categories: CategoriesOf(type).Concat(CategoriesOf(method)).ToList())))
            .ToList();
        Assert.True(tests.Count > 100, $"only {tests.Count} tests found");
        var wrong = tests.Where(t => t.Categories.Count != 1 || !Categories.Contains(t.Categories[0]))
            .Select(t => $"{t.Name}: [{string.Join(", ", t.Categories)}]").ToList();
        Assert.True(wrong.Count == 0, "tests without exactly one Category trait (Unit | Integration | System):\n" + string.Join('\n', wrong));
    }

    /// <summary>xUnit 2's TraitAttribute keeps its name and value only as constructor arguments.</summary>
    private static IEnumerable<string> CategoriesOf(MemberInfo member) =>
        member.CustomAttributes.Where(a => a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments is [{ Value: "Category" }, _])
            .Select(a => (string)a.ConstructorArguments[1].Value!);
}
