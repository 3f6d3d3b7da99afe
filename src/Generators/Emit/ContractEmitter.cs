using Alicia.Generators.Model;

namespace Alicia.Generators.Emit
{
    /// <summary>Emits the partial declaration of one contract type with its serializers (and topic members).</summary>
    internal static class ContractEmitter
    {
        public static string Emit(ContractModel model)
        {
            var w = new CodeWriter();
            w.Line(Names.Header);
            if (model.Namespace.Length > 0)
            {
                w.Line($"namespace {model.Namespace};");
                w.Line();
            }
            string contract = model.Message is null
                ? $"{Names.Serializable}<{model.FullName}>"
                : $"{Names.Message}<{model.FullName}>";
            w.Open($"partial {model.Keyword} {model.Name} : {contract}");
            if (model.Message is not null)
            {
                TopicMembersEmitter.Emit(w, model);
                w.Line();
            }
            MsgPackWriteEmitter.Emit(w, model);
            w.Line();
            MsgPackReadEmitter.Emit(w, model);
            w.Line();
            JsonWriteEmitter.Emit(w, model);
            w.Line();
            JsonReadEmitter.Emit(w, model);
            w.Close();
            return w.ToString();
        }
    }
}
