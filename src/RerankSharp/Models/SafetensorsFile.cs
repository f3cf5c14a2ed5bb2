using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace RerankSharp.Models;

/// <summary>
/// One safetensors file mapped read-only into memory for as long as this object lives, with its
/// header parsed and checked. Tensor bytes are read straight from the mapping; nothing is copied.
/// </summary>
/// <remarks>
/// The whole file is one view reached through a raw pointer, because a <see cref="Span{T}"/>
/// cannot cover more than 2 GB and bge-reranker-v2-m3's float32 weights are 2.27 GB.
/// </remarks>
internal sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation's MAX_HEADER_SIZE: a bound against absurd allocations.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _start;

    private SafetensorsFile(string path, long length, DateTime lastWriteTimeUtc, MemoryMappedFile mapping, MemoryMappedViewAccessor view, byte* start)
    {
        Path = path;
        Length = length;
        LastWriteTimeUtc = lastWriteTimeUtc;
        _mapping = mapping;
        _view = view;
        _start = start;
    }

    public string Path { get; }

    /// <summary>File size in bytes.</summary>
    public long Length { get; }

    /// <summary>The file's modification time when it was opened.</summary>
    public DateTime LastWriteTimeUtc { get; }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<TensorEntry> Tensors { get; private set; } = [];

    /// <summary>Maps <paramref name="path"/> and checks its header and offsets.</summary>
    public static SafetensorsFile Open(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new RerankException(RerankErrorKind.ModelNotFound,
                $"Model weights not found: {path} does not exist. {ModelFolder.WhatToPass}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"Cannot read {path}: {e.Message} Check that the file is readable.", e);
        }

        long length = stream.Length;
        // Through the snapshot link to the blob, as the size above is the opened file's.
        DateTime lastWrite = LinkedFile.Find(path)?.LastWriteTimeUtc ?? default;
        if (length < sizeof(ulong))
        {
            stream.Dispose();
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{path} is {length} bytes, too short to be a safetensors file (it must start with an 8-byte header length); the download looks incomplete; re-download it from the Hugging Face hub.");
        }

        MemoryMappedFile? mapping = null;
        MemoryMappedViewAccessor? view = null;
        SafetensorsFile? file = null;
        try
        {
            mapping = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0,
                MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            // PointerOffset is non-zero only for views that begin inside a page; kept for clarity.
            file = new SafetensorsFile(path, length, lastWrite, mapping, view, start + view.PointerOffset);
            file.Tensors = file.ReadHeader();
            return file;
        }
        catch
        {
            if (file is not null)
                file.Dispose();
            else
            {
                view?.Dispose();
                if (mapping is not null)
                    mapping.Dispose();
                else
                    stream.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// What differs between the file now at <see cref="Path"/> and the one whose header was read (size, then
    /// modification time), or null when nothing does. A size change means the header's offsets no longer describe
    /// the file: someone is writing it, or replaced it with another.
    /// </summary>
    public string? DescribeChange()
    {
        if (LinkedFile.Find(Path) is not { } now)
            return $"{Path} was removed";
        if (now.Length != Length)
            return $"{Path} changed size from {Length} to {now.Length} bytes";
        if (now.LastWriteTimeUtc != LastWriteTimeUtc)
            return $"{Path} was rewritten (modified {now.LastWriteTimeUtc:O}, read as of {LastWriteTimeUtc:O})";
        return null;
    }

    /// <summary>The bytes of <paramref name="length"/> starting at the absolute <paramref name="offset"/>.</summary>
    public ReadOnlySpan<byte> Bytes(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_start is null, this);
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new RerankException(RerankErrorKind.Internal,
                $"Read of {length} bytes at {offset} is outside {Path} ({Length} bytes); this is a bug in RerankSharp, please report it.");
        return new ReadOnlySpan<byte>(_start + offset, length);
    }

    /// <summary>The address of the absolute <paramref name="offset"/>, valid until disposal.</summary>
    public nint Address(long offset)
    {
        ObjectDisposedException.ThrowIf(_start is null, this);
        return (nint)(_start + offset);
    }

    private IReadOnlyList<TensorEntry> ReadHeader()
    {
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_start, sizeof(ulong)));
        if (headerLength > MaxHeaderBytes)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{Path} declares a header of {headerLength} bytes, more than the {MaxHeaderBytes / 1_000_000} MB safetensors allows; it is not a safetensors file or it is corrupt; re-download it from the Hugging Face hub.");
        long available = Length - sizeof(ulong);
        if ((long)headerLength > available)
            throw new RerankException(RerankErrorKind.InvalidModel,
                $"{Path} declares a header of {headerLength} bytes, but only {available} bytes follow its length; the file looks truncated (an incomplete download); re-download it from the Hugging Face hub.");

        // The header is at most 100 MB, so one copy into managed memory for the JSON parser is fine.
        byte[] header = new ReadOnlySpan<byte>(_start + sizeof(ulong), (int)headerLength).ToArray();
        long dataStart = sizeof(ulong) + (long)headerLength;
        return SafetensorsHeader.Parse(header, Path, dataStart, Length - dataStart);
    }

    public void Dispose()
    {
        if (_start is null)
            return;
        _start = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }
}
