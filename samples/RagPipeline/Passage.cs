namespace RagPipeline;

/// <summary>A passage of the knowledge base.</summary>
public sealed record Passage(int Id, string Text);
