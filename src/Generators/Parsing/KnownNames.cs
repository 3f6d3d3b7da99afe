namespace Alicia.Generators.Parsing
{
    internal static class KnownNames
    {
        public const string ContractAttribute = "Alicia.Contracts.AliciaContractAttribute";
        public const string MessageAttribute = "Alicia.Contracts.AliciaMessageAttribute";
        public const string WireNameAttribute = "Alicia.Contracts.WireNameAttribute";
        public const string WireIgnoreAttribute = "Alicia.Contracts.WireIgnoreAttribute";
        public const string MessageKind = "global::Alicia.Contracts.MessageKind";
        public const string SerializableInterface = "IAliciaSerializable`1";
        public const string ContractsNamespace = "Alicia.Contracts";
    }
}
