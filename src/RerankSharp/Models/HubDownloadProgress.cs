namespace RerankSharp.Models;

/// <summary>What is happening to one file of a hub download.</summary>
public enum HubFileState
{
    /// <summary>The transfer starts (or resumes: <see cref="HubDownloadProgress.BytesDone"/> is then the bytes already on disk).</summary>
    Started,
    /// <summary>Bytes arrived.</summary>
    Transferring,
    /// <summary>The transfer was cut; it is resumed from <see cref="HubDownloadProgress.BytesDone"/> after a pause.</summary>
    Retrying,
    /// <summary>Another process is downloading the same blob; waiting for its lock.</summary>
    Waiting,
    /// <summary>The file was verified and is in place in the snapshot.</summary>
    Completed,
    /// <summary>The file was already in the cache; nothing was transferred.</summary>
    Cached,
}

/// <summary>
/// One report of a hub download, per file. Reported synchronously from the downloading task,
/// in order; an <see cref="IProgress{T}"/> that draws should throttle itself.
/// </summary>
/// <param name="File">Path of the file in the repository, e.g. <c>model.safetensors</c>.</param>
/// <param name="State">What just happened.</param>
/// <param name="BytesDone">Bytes of the file on disk so far.</param>
/// <param name="BytesTotal">Size of the file, when the hub said.</param>
/// <param name="Message">For <see cref="HubFileState.Retrying"/>, why the transfer was cut.</param>
public readonly record struct HubDownloadProgress(string File, HubFileState State, long BytesDone, long? BytesTotal, string? Message = null);
