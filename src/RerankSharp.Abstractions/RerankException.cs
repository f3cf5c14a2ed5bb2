namespace RerankSharp;

/// <summary>What went wrong, coarsely enough for a caller to act on it (an HTTP status, an exit code).</summary>
public enum RerankErrorKind
{
    /// <summary>A model file is missing from the folder or the hub id is unknown.</summary>
    ModelNotFound,
    /// <summary>A model file exists but is malformed, truncated or inconsistent with config.json.</summary>
    InvalidModel,
    /// <summary>The model is well-formed but of an architecture or setting the engine does not run.</summary>
    UnsupportedModel,
    /// <summary>The caller's input (text, options, JSON) is not acceptable.</summary>
    InvalidInput,
    /// <summary>The work queue is full; retry later.</summary>
    Overloaded,
    /// <summary>ONNX Runtime or the execution provider failed.</summary>
    Backend,
    /// <summary>An invariant of the library was broken: a bug to report.</summary>
    Internal,
    /// <summary>A remote reranker refused the credentials (HTTP 401 or 403).</summary>
    Unauthorized,
}

/// <summary>
/// The one exception type the library throws for expected failures. Messages are one line and,
/// for user errors, end with what to do.
/// </summary>
public sealed class RerankException : Exception
{
    public RerankException(RerankErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public RerankErrorKind Kind { get; }
}
