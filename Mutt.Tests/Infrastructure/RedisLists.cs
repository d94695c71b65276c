using StackExchange.Redis;

namespace Mutt.Tests.Infrastructure;

/// <summary>Reads of several lists that a running consumer moves items between.</summary>
public static class RedisLists
{
    /// <summary>
    /// The total length of <paramref name="keys"/>, read in one transaction: two separate LLENs can see an
    /// item twice, or not at all, when the consumer moves it (take, return) between them.
    /// </summary>
    public static async Task<long> TotalLengthAsync(IDatabase db, params RedisKey[] keys)
    {
        var transaction = db.CreateTransaction();
        var lengths = keys.Select(key => transaction.ListLengthAsync(key)).ToList();
        if (!await transaction.ExecuteAsync())
        {
            throw new InvalidOperationException("The LLEN transaction did not commit.");
        }
        long total = 0;
        foreach (var length in lengths)
        {
            total += await length;
        }
        return total;
    }
}
