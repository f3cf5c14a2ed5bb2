namespace RerankSharp.Models;

/// <summary>What a model folder holds, as <c>rerank info</c> shows it (see <see cref="ModelFolder.Summarize()"/>).</summary>
/// <param name="Directory">The folder, as a full path.</param>
/// <param name="Config">Its config.json: architecture and sizes.</param>
/// <param name="DefaultMaxLength">The default input length (<see cref="ModelFolder.DefaultMaxLength"/>).</param>
/// <param name="Files">Every file at the top of the folder (through links; dangling ones left out), in ordinal order, with its size.</param>
/// <param name="FileBytes">The sum of <paramref name="Files"/>' sizes.</param>
/// <param name="TensorCount">Tensors in the weights.</param>
/// <param name="ParameterCount">Elements in the weights, buffers such as position_ids included.</param>
/// <param name="TensorBytes">Bytes of tensor data in the weights.</param>
/// <param name="DTypes">Tensors, elements and bytes per dtype, in <see cref="TensorDType"/> order.</param>
/// <param name="SentenceTransformers">What the folder declares to sentence-transformers' CrossEncoder: activation, modules.</param>
public sealed record ModelSummary(
    string Directory,
    ModelConfig Config,
    int DefaultMaxLength,
    IReadOnlyList<ModelFileSummary> Files,
    long FileBytes,
    int TensorCount,
    long ParameterCount,
    long TensorBytes,
    IReadOnlyList<TensorDTypeSummary> DTypes,
    SentenceTransformersConfig SentenceTransformers);

/// <summary>One file of a model folder.</summary>
/// <param name="Name">The file name within the folder.</param>
/// <param name="Bytes">Its size, following a symbolic link to its target.</param>
public sealed record ModelFileSummary(string Name, long Bytes);

/// <summary>The share of one dtype in a model's weights.</summary>
public sealed record TensorDTypeSummary(TensorDType DType, int TensorCount, long ParameterCount, long Bytes);
