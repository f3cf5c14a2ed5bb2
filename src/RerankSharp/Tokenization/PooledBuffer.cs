using System.Buffers;

namespace RerankSharp.Tokenization;

/// <summary>
/// A growable array rented from the shared pool, so encoding an 8k-token document does not
/// allocate a fresh buffer per stage per call. Owned by one call; dispose to return the array.
/// </summary>
internal struct PooledBuffer<T> : IDisposable
{
    private T[] _array;
    private int _count;

    public PooledBuffer(int capacity)
    {
        _array = ArrayPool<T>.Shared.Rent(Math.Max(capacity, 16));
        _count = 0;
    }

    public readonly int Count => _count;

    public readonly Span<T> Span => _array.AsSpan(0, _count);

    public readonly ref T this[int index] => ref _array[index];

    public void Add(T item)
    {
        if (_count == _array.Length)
        {
            Grow(_count + 1);
        }

        _array[_count++] = item;
    }

    public void AddRange(ReadOnlySpan<T> items)
    {
        if (_count + items.Length > _array.Length)
        {
            Grow(_count + items.Length);
        }

        items.CopyTo(_array.AsSpan(_count));
        _count += items.Length;
    }

    public void Clear() => _count = 0;

    /// <summary>Drops the items from <paramref name="count"/> on.</summary>
    public void Truncate(int count) => _count = Math.Min(count, _count);

    public readonly T[] ToArray() => Span.ToArray();

    public void Dispose()
    {
        if (_array is not null)
        {
            ArrayPool<T>.Shared.Return(_array);
            _array = null!;
        }
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(needed, _array.Length * 2));
        _array.AsSpan(0, _count).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(_array);
        _array = bigger;
    }
}
