namespace Alicia.Generators.Model
{
    /// <summary>The wire shape of a member type.</summary>
    internal enum ShapeKind
    {
        Boolean,
        Byte,
        SByte,
        Int16,
        UInt16,
        Int32,
        UInt32,
        Int64,
        UInt64,
        Single,
        Double,
        String,
        Guid,
        DateTimeOffset,
        DateTime,
        TimeSpan,
        Binary,
        Enum,
        Contract,
        List,
        Array,
        ReadOnlyList,
        IList,
        Dictionary,
        ReadOnlyDictionary,
        IDictionary,
    }
}
