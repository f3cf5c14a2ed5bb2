namespace RerankSharp.Tests.Models;

/// <summary>Assertions on the library's one exception type.</summary>
internal static class RerankAssert
{
    /// <summary>
    /// Asserts that <paramref name="action"/> throws a <see cref="RerankException"/> of
    /// <paramref name="kind"/> whose one-line message contains every fragment.
    /// </summary>
    public static RerankException Throws(RerankErrorKind kind, Action action, params string[] fragments)
    {
        RerankException error = Assert.Throws<RerankException>(action);
        Assert.True(kind == error.Kind, $"Expected {kind} but got {error.Kind}: {error.Message}");
        Assert.DoesNotContain('\n', error.Message);
        foreach (string fragment in fragments)
            Assert.True(error.Message.Contains(fragment, StringComparison.Ordinal),
                $"Message lacks \"{fragment}\": {error.Message}");
        return error;
    }
}
