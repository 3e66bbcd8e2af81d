using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EventMlOps.Serving.Recommending;

/// <summary>The SIMD operations <see cref="NeuMFRanker{TVector, TLanes}"/> needs, over one vector type. The ranker is
/// generic over a struct implementing this, so the JIT compiles one specialised kernel per vector width with every call
/// inlined.</summary>
public interface ILanes<TVector> where TVector : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    static abstract TVector Splat(float value);
    static abstract TVector Load(ref float at);
    static abstract void Store(TVector value, ref float at);

    /// <summary><c>a·b + c</c>, one rounding.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);

    /// <summary><c>max(a + b, 0)</c>.</summary>
    static abstract TVector AddRelu(TVector a, TVector b);

    static abstract TVector Relu(TVector a);
}

/// <summary>512-bit vectors (16 floats), where the runtime accelerates them (AVX-512).</summary>
public readonly struct Lanes512 : ILanes<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Splat(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float at) => Vector512.LoadUnsafe(ref at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float at) => value.StoreUnsafe(ref at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AddRelu(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a + b, Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> a) => Vector512.MaxNative(a, Vector512<float>.Zero);
}

/// <summary><see cref="Vector{T}"/>: the machine's preferred width everywhere else (256 bits with AVX2, 128 with NEON).</summary>
public readonly struct LanesVector : ILanes<Vector<float>>
{
    public static int Count => Vector<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Splat(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(ref float at) => Vector.LoadUnsafe(ref at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> value, ref float at) => value.StoreUnsafe(ref at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> MultiplyAdd(Vector<float> a, Vector<float> b, Vector<float> c) => Vector.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> AddRelu(Vector<float> a, Vector<float> b) => Vector.MaxNative(a + b, Vector<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Relu(Vector<float> a) => Vector.MaxNative(a, Vector<float>.Zero);
}
