#include "worker/train/evaluate.h"

#include <torch/torch.h>

#include "common/status.h"
#include "worker/sp/sp_attention.h"

namespace spindle::train {

absl::StatusOr<EvalResult> Evaluate(model::LlamaForCausalLM& model, int64_t seq_len,
                                    const SequenceSource& source, int64_t num_seqs,
                                    int64_t batch_seqs) {
  const model::LlamaConfig& c = model->config();
  SPINDLE_ASSIGN_OR_RETURN(
      layout::SequenceLayout one,
      layout::SequenceLayout::Create(layout::LayoutKind::kContiguous, seq_len, 1, 1));
  sp::SpAttentionOptions attn;
  attn.h = static_cast<int>(c.num_attention_heads);
  attn.h_kv = static_cast<int>(c.num_key_value_heads);
  SPINDLE_ASSIGN_OR_RETURN(std::shared_ptr<sp::SpAttention> attention,
                           sp::SpAttention::Create(one, attn));
  const model::RopeTables rope =
      model::MakeRope(attention->local_positions(), c.head_dim(), c.rope_theta);
  torch::NoGradGuard no_grad;
  model->eval();
  EvalResult result;
  double loss_sum = 0;
  std::vector<int64_t> tokens(seq_len + 1);
  for (int64_t first = 0; first < num_seqs; first += batch_seqs) {
    const int64_t b = std::min(batch_seqs, num_seqs - first);
    at::Tensor batch = at::empty({b, seq_len + 1}, at::kLong);
    for (int64_t i = 0; i < b; ++i) {
      SPINDLE_RETURN_IF_ERROR(source(first + i, absl::MakeSpan(tokens)));
      std::copy(tokens.begin(), tokens.end(), batch[i].data_ptr<int64_t>());
    }
    at::Tensor logits =
        model->forward(batch.narrow(1, 0, seq_len), rope, attention, model::Checkpointing::kNone);
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits.reshape({-1, logits.size(-1)}), batch.narrow(1, 1, seq_len).reshape({-1}),
            torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    result.tokens += b * seq_len;
    result.sequences += b;
  }
  result.loss = result.tokens > 0 ? loss_sum / static_cast<double>(result.tokens) : 0;
  return result;
}

}  // namespace spindle::train
