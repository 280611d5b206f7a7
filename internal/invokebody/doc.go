// Package invokebody holds the codecs of Bedrock's native InvokeModel
// (and InvokeModelWithResponseStream) bodies: the request and response
// formats each model family speaks when called directly rather than
// through Converse. A codec validates a native request body as Bedrock
// does and translates it into modelwatch's neutral form
// (converse.Request for chat, provider.EmbedRequest for embeddings), and
// renders the neutral response, and for chat its stream events, in the
// family's native format. The bedrockapi package serves the InvokeModel
// endpoints with them; the catalog names a model's family ("anthropic",
// "titan-text", ...: the constants in codec.go) to pick its codec.
//
// Where things are:
//
//   - codec.go: the family names, ForModelID, the codec interfaces
//     (ChatCodec, StreamCodec, StreamEncoder, EmbedCodec), Lookup, and
//     helpers shared by the families.
//   - schema.go: Bedrock's check of a native body against the family's
//     JSON schema, done with the everit Java library before the model sees
//     the body, reproduced with its "Malformed input request: ..."
//     messages; each family declares its schema as data in its own file.
//     Checks the model makes itself (Anthropic's role rules, for example)
//     follow in the family's file, in the model's own wording.
//   - stream.go: pieces shared by the stream encoders.
//
// Each family has its own file, and a chat family a second one for its
// stream encoder:
//
//   - anthropic.go, anthropic_stream.go: Anthropic Claude's Messages API as
//     Bedrock accepts it (Bedrock user guide, "Anthropic Claude Messages
//     API"; Anthropic API reference for the model's own error wording;
//     @anthropic-ai/sdk and @anthropic-ai/bedrock-sdk 1.x for what the
//     official SDK sends). The body is a Messages API request plus
//     anthropic_version and anthropic_beta, less model and stream, and its
//     responses and stream chunks are Messages API responses and events:
//     the wire types are package apischema/anthropic's, and the response
//     and the stream are made by package translate
//     (ConverseToMessagesResponse, MessagesStream) in Bedrock's flavour.
//     The request is checked here, strictly and in Bedrock's wording,
//     before it is decoded into those types. The accepted anthropic_version
//     values are in anthropic_version.go, the mapping between Converse's
//     and Bedrock's native tool-use IDs in anthropic_toolid.go.
//   - titantext.go, titantext_stream.go: Amazon Titan Text (Bedrock user
//     guide, "Amazon Titan Text models").
//   - titanembed.go: Amazon Titan Text Embeddings G1 and V2 (Bedrock user
//     guide, "Amazon Titan Embeddings Text"); embeddings do not stream.
//   - nova.go, nova_stream.go: Amazon Nova understanding models (Amazon
//     Nova user guide, "Invoke API" request/response schema).
//   - llama.go, llama_stream.go: Meta Llama 3 and 4 (Bedrock user guide,
//     "Meta Llama models"; Meta's Llama 3 and Llama 4 prompt formats for
//     the chat templates, chosen by model ID; base64 images).
//   - mistral.go, mistral_stream.go: Mistral AI text completion (Bedrock
//     user guide, "Mistral AI text completion"; Mistral's [INST]
//     instruction format).
//   - mistralchat.go, mistralchat_stream.go: Mistral AI chat completion
//     (Mistral Large 2 and 3, Pixtral Large with images; Bedrock user
//     guide, "Mistral AI chat completion").
//   - deepseek.go, deepseek_stream.go: DeepSeek-R1 and V3.1 (Bedrock user
//     guide, "DeepSeek models"; DeepSeek's chat template; R1's reasoning
//     inline before </think>).
//   - openai.go, openai_stream.go: OpenAI gpt-oss (Bedrock user guide,
//     "OpenAI models"), and the models of OpenAI-compatible providers,
//     which the catalog gives this family. The body is OpenAI's Create
//     chat completion request, the response a chat.completion and the
//     stream chunks chat.completion.chunk objects: the wire types are
//     package apischema/openai's, the translation package translate's
//     (ChatToConverse, ConverseToChatCompletion, ChatStream). The body's
//     shape is checked here as the model's server does, in its wording;
//     reasoning goes in front of the content inside <reasoning> tags, as
//     Bedrock's InvokeModel does.
//   - image.go, novacanvas.go, stability.go: image generation, whose
//     codecs are ImageCodecs translating to provider.ImageRequest: Amazon
//     Nova Canvas and Titan Image Generator v2 (one envelope, taskType and
//     its params object, per-model limits; Nova user guide, "Image
//     generation request and response structure"; Bedrock user guide,
//     "Amazon Titan Image Generator G1 models") and Stability AI's Stable
//     Diffusion 3.5 Large, Stable Image Core and Ultra (Bedrock user
//     guide). Input images are decoded and checked here; image models
//     neither stream nor take Converse.
//   - cohere.go, cohere_stream.go: Cohere Command R and R+ (Bedrock user
//     guide, "Cohere Command R and Command R+ models"; Cohere's v1 chat
//     API for the response and stream events).
//   - jamba.go, jamba_stream.go: AI21 Jamba 1.5 (Bedrock user guide, "AI21
//     Labs Jamba models").
//   - titanembedimage.go: Amazon Titan Multimodal Embeddings G1 (text,
//     image, or both in one vector); cohereembed.go: Cohere Embed v3 and
//     v4 (texts, images, interleaved inputs; int8, uint8, binary and
//     ubinary vectors derived from the float ones).
//   - novareel.go: Amazon Nova Reel's modelInput, a VideoCodec: the body of
//     StartAsyncInvoke (package asyncinvoke runs the job); InvokeModel
//     refuses it, as Bedrock does.
//
// Streaming (InvokeModelWithResponseStream): every chat codec is also a
// StreamCodec, whose StreamEncoder turns the neutral ConverseStream events
// into the family's native chunks. Each encoder's comment shows the real
// chunk sequence and its sources. Decisions: the text-carrying chunks are
// built by appending (one allocation per token, encoding/json's exact
// string escaping); what a chunk needs from later events is held back,
// never guessed (Anthropic's message_delta waits for the metadata event's
// output tokens, Titan holds one text delta so that its last chunk carries
// the totals); an input count unknown at the start moves to the final
// chunk; and the metadata event always yields the last chunk, to which the
// caller adds "amazon-bedrock-invocationMetrics". An encoder never panics
// on a stream cut short or out of order; a nil or empty event, or one
// after metadata, is an InternalServerException.
package invokebody
