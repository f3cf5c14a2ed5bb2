namespace RerankSharp.Tokenization;

/// <summary>A pair's ids as the model sees them, and how long the pair was before any cut.</summary>
internal readonly record struct EncodedPair(int[] Ids, int UntruncatedLength)
{
    public bool Truncated => UntruncatedLength > Ids.Length;
}

/// <summary>
/// The truncation rule of HF tokenizers ≤ 0.22 (<c>utils/truncation.rs</c> <c>truncate_encodings</c>,
/// called by <c>post_process</c> with max_length minus the template's special tokens), on lengths only.
/// That is what transformers 4.x runs for <c>tokenizer(q, d, truncation=..., max_length=...)</c>, so
/// the model's reference scores were computed on these cuts. tokenizers 0.23 stops encoding early at
/// max_length, which moves the odd token of longest_first; it is deliberately not followed.
/// </summary>
internal static class Truncation
{
    /// <summary>Content length kept of a single sequence under a budget of <paramref name="budget"/> tokens.</summary>
    public static int Single(int length, int budget) => Math.Min(length, budget);

    /// <summary>Content lengths kept of a pair under a budget of <paramref name="budget"/> tokens.</summary>
    /// <param name="first">Tokens of the query.</param>
    /// <param name="second">Tokens of the document.</param>
    /// <param name="budget">max_length minus the special tokens of the pair template.</param>
    /// <param name="strategy">The cut.</param>
    /// <param name="maxLength">For the error message only.</param>
    public static (int First, int Second) Pair(int first, int second, int budget, TruncationStrategy strategy, int maxLength)
    {
        // truncate_encodings empties both sequences when the budget is 0, whatever the strategy.
        if (budget == 0)
        {
            return (0, 0);
        }

        long total = (long)first + second;
        if (total <= budget)
        {
            return (first, second);
        }

        int toRemove = (int)(total - budget);
        if (strategy == TruncationStrategy.OnlySecond)
        {
            // HF raises "Sequence to truncate too short" unless the document keeps at least one token.
            if (second > toRemove)
            {
                return (first, second - toRemove);
            }

            throw new RerankException(RerankErrorKind.InvalidInput,
                $"The query is {first} tokens and the document {second}; with only_second truncation to max_length {maxLength} "
                + $"({budget} content tokens after the template's special tokens) the document cannot absorb the cut; "
                + "use longest_first truncation or a larger max length.");
        }

        int shorter = Math.Min(first, second);
        bool swapped = first > second;
        int longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
        if ((long)shorter + longer > budget)
        {
            // Both are cut to half the budget; the longer sequence (the document on equal lengths) keeps the odd token.
            shorter = budget / 2;
            longer = shorter + budget % 2;
        }

        return swapped ? (longer, shorter) : (shorter, longer);
    }
}
