using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace RerankSharp.Inference;

/// <summary>
/// The entries of ONNX Runtime's C API (<c>OrtApi</c>) that RerankSharp's own kernels call, read from the function table
/// of the native library the managed binding has loaded. The managed binding does not expose custom-operator
/// registration or the kernel context, so these few calls go to the table directly.
/// </summary>
/// <remarks>
/// <c>OrtApi</c> is a struct of function pointers that ONNX Runtime only ever appends to (its ABI promise), so an entry's
/// index is fixed by the version that introduced it. The indices below are those of <c>onnxruntime_c_api.h</c>
/// (<c>offsetof(OrtApi, name) / sizeof(void*)</c>, checked against the 1.31 header; 1.32 only appends, and the kernel
/// tests pass on it).
/// </remarks>
internal static unsafe class OrtNativeApi
{
    /// <summary>The API version asked for: 17 introduced <c>KernelContext_ParallelFor</c>, the newest entry used here.</summary>
    public const uint Version = 17;

    private const int CreateStatusIndex = 0;
    private const int GetErrorMessageIndex = 2;
    private const int CreateCustomOpDomainIndex = 26;
    private const int CustomOpDomainAddIndex = 27;
    private const int AddCustomOpDomainIndex = 28;
    private const int GetTensorMutableDataIndex = 51;
    private const int GetDimensionsCountIndex = 61;
    private const int GetDimensionsIndex = 62;
    private const int GetTensorTypeAndShapeIndex = 65;
    private const int KernelInfoGetAttributeFloatIndex = 85;
    private const int KernelContextGetInputIndex = 90;
    private const int KernelContextGetOutputIndex = 91;
    private const int ReleaseStatusIndex = 93;
    private const int ReleaseTensorTypeAndShapeInfoIndex = 99;
    private const int KernelContextParallelForIndex = 274;

    /// <summary><c>ORT_FAIL</c> of <c>OrtErrorCode</c>.</summary>
    private const int OrtFail = 1;

    private static readonly void** Table = Load();

    /// <summary>Whether the loaded ONNX Runtime offers <see cref="Version"/> of its C API (1.17 or later).</summary>
    public static bool Available => Table != null;

    private static void** Load()
    {
        try
        {
            var library = NativeLibrary.Load("onnxruntime", typeof(InferenceSession).Assembly, null);
            if (!NativeLibrary.TryGetExport(library, "OrtGetApiBase", out var getApiBase)) return null;
            var apiBase = ((delegate* unmanaged<void**>)getApiBase)();
            return apiBase == null ? null : ((delegate* unmanaged<uint, void**>)apiBase[0])(Version);
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    private static void* Entry(int index) =>
        Table != null ? Table[index] : throw new RerankException(RerankErrorKind.Backend, $"ONNX Runtime's C API version {Version} is not available; RerankSharp needs ONNX Runtime 1.17 or later.");

    /// <summary>Throws the message of a non-null <c>OrtStatus*</c>, releasing it.</summary>
    public static void Check(IntPtr status)
    {
        if (status == IntPtr.Zero) return;
        var message = Marshal.PtrToStringUTF8((IntPtr)((delegate* unmanaged<IntPtr, byte*>)Entry(GetErrorMessageIndex))(status));
        ((delegate* unmanaged<IntPtr, void>)Entry(ReleaseStatusIndex))(status);
        throw new RerankException(RerankErrorKind.Backend, $"ONNX Runtime: {message}");
    }

    /// <summary>A new <c>OrtStatus*</c> (ORT_FAIL) carrying <paramref name="message"/>, which ONNX Runtime takes over.</summary>
    public static IntPtr Failure(string message)
    {
        var text = Utf8(message);
        try
        {
            return ((delegate* unmanaged<int, byte*, IntPtr>)Entry(CreateStatusIndex))(OrtFail, text);
        }
        finally
        {
            NativeMemory.Free(text);
        }
    }

    /// <summary>A NUL-terminated UTF-8 copy in native memory; the caller frees it (or keeps it for the process).</summary>
    public static byte* Utf8(string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        var bytes = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(text, new Span<byte>(bytes, length));
        bytes[length] = 0;
        return bytes;
    }

    public static IntPtr CreateCustomOpDomain(string name)
    {
        var text = Utf8(name);   // ONNX Runtime copies the name
        try
        {
            IntPtr domain;
            Check(((delegate* unmanaged<byte*, IntPtr*, IntPtr>)Entry(CreateCustomOpDomainIndex))(text, &domain));
            return domain;
        }
        finally
        {
            NativeMemory.Free(text);
        }
    }

    /// <summary>Adds an <c>OrtCustomOp</c>, which must stay valid for the process.</summary>
    public static void AddCustomOp(IntPtr domain, void* op) =>
        Check(((delegate* unmanaged<IntPtr, void*, IntPtr>)Entry(CustomOpDomainAddIndex))(domain, op));

    public static void AddCustomOpDomain(SessionOptions options, IntPtr domain) =>
        Check(((delegate* unmanaged<IntPtr, IntPtr, IntPtr>)Entry(AddCustomOpDomainIndex))(options.DangerousGetHandle(), domain));

    public static float FloatAttribute(IntPtr kernelInfo, string name)
    {
        var text = Utf8(name);
        try
        {
            float value;
            Check(((delegate* unmanaged<IntPtr, byte*, float*, IntPtr>)Entry(KernelInfoGetAttributeFloatIndex))(kernelInfo, text, &value));
            return value;
        }
        finally
        {
            NativeMemory.Free(text);
        }
    }

    /// <summary>The <c>OrtValue*</c> of input <paramref name="index"/> (null for an absent optional input).</summary>
    public static IntPtr Input(IntPtr context, int index)
    {
        IntPtr value;
        Check(((delegate* unmanaged<IntPtr, nuint, IntPtr*, IntPtr>)Entry(KernelContextGetInputIndex))(context, (nuint)index, &value));
        return value;
    }

    /// <summary>Allocates output <paramref name="index"/> with <paramref name="shape"/> and returns its <c>OrtValue*</c>.</summary>
    public static IntPtr Output(IntPtr context, int index, ReadOnlySpan<long> shape)
    {
        IntPtr value;
        fixed (long* dims = shape)
            Check(((delegate* unmanaged<IntPtr, nuint, long*, nuint, IntPtr*, IntPtr>)Entry(KernelContextGetOutputIndex))(context, (nuint)index, dims, (nuint)shape.Length, &value));
        return value;
    }

    public static long[] Shape(IntPtr value)
    {
        IntPtr info;
        Check(((delegate* unmanaged<IntPtr, IntPtr*, IntPtr>)Entry(GetTensorTypeAndShapeIndex))(value, &info));
        try
        {
            nuint count;
            Check(((delegate* unmanaged<IntPtr, nuint*, IntPtr>)Entry(GetDimensionsCountIndex))(info, &count));
            var dims = new long[(int)count];
            fixed (long* d = dims)
                Check(((delegate* unmanaged<IntPtr, long*, nuint, IntPtr>)Entry(GetDimensionsIndex))(info, d, count));
            return dims;
        }
        finally
        {
            ((delegate* unmanaged<IntPtr, void>)Entry(ReleaseTensorTypeAndShapeInfoIndex))(info);
        }
    }

    public static float* FloatData(IntPtr value)
    {
        void* data;
        Check(((delegate* unmanaged<IntPtr, void**, IntPtr>)Entry(GetTensorMutableDataIndex))(value, &data));
        return (float*)data;
    }

    /// <summary>
    /// Calls <paramref name="body"/>(<paramref name="state"/>, i) for i in [0, <paramref name="count"/>) on the session's
    /// intra-op threads (the caller's included) and returns when all calls have.
    /// </summary>
    public static void ParallelFor(IntPtr context, delegate* unmanaged<void*, nuint, void> body, int count, void* state) =>
        Check(((delegate* unmanaged<IntPtr, delegate* unmanaged<void*, nuint, void>, nuint, nuint, void*, IntPtr>)Entry(KernelContextParallelForIndex))(
            context, body, (nuint)count, 0, state));
}
