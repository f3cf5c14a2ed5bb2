namespace RerankSharp.Scoring;

/// <summary>How the window scores of a chunked document become its one score.</summary>
public enum WindowAggregation
{
    /// <summary>The best window's: a document is as relevant as its most relevant passage.</summary>
    Max,

    /// <summary>The mean of the windows' logits: rewards documents relevant throughout.</summary>
    Mean,

    /// <summary>The first window's only: truncation's score, with the rest of the document still tokenized.</summary>
    First,
}
