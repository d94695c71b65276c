using System.Text;
using Microsoft.AspNetCore.Http;
using Mutt.Ingestor.Ingest;

namespace Mutt.Tests.Unit;

[Trait("Category", "Unit")]
public sealed class IngestCredentialsTests
{
    private static string Basic(string userAndPassword) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userAndPassword));

    [Theory]
    [InlineData("Bearer s3cret-key", "s3cret-key")]
    [InlineData("bearer   s3cret-key  ", "s3cret-key")]
    [InlineData("Bearer ", null)]
    [InlineData("Bearer", null)]
    [InlineData("Token s3cret-key", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    [InlineData("Basic not*base64", null)]
    public void Bearer_and_unusable_authorization_headers(string? header, string? presented) =>
        Assert.Equal(presented, IngestCredentials.FromAuthorization(header));

    [Theory]
    [InlineData("alertmanager:s3cret-key", "s3cret-key")]
    [InlineData(":s3cret-key", "s3cret-key")]
    [InlineData("user:pass:with:colons", "pass:with:colons")]
    [InlineData("user:pässwört", "pässwört")]
    [InlineData("user:", null)]
    [InlineData("no-colon-at-all", null)]
    public void Basic_presents_the_password_as_the_key(string credentials, string? presented) =>
        Assert.Equal(presented, IngestCredentials.FromAuthorization(Basic(credentials)));

    [Fact]
    public void X_api_key_wins_over_authorization_and_either_alone_is_taken()
    {
        var both = new HeaderDictionary { ["X-API-KEY"] = "from-header", ["Authorization"] = "Bearer from-bearer" };
        Assert.Equal("from-header", IngestCredentials.Presented(both));
        Assert.Equal("from-bearer", IngestCredentials.Presented(new HeaderDictionary { ["Authorization"] = "Bearer from-bearer" }));
        Assert.Equal("pw", IngestCredentials.Presented(new HeaderDictionary { ["Authorization"] = Basic("u:pw") }));
        Assert.Equal("from-bearer", IngestCredentials.Presented(new HeaderDictionary { ["X-API-KEY"] = "", ["Authorization"] = "Bearer from-bearer" }));
        Assert.Null(IngestCredentials.Presented(new HeaderDictionary()));
    }
}
