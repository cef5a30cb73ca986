#include "coordinator/service/plan_proto.h"

#include "common/layout/sequence_layout.h"

namespace spindle::service {
namespace {

void MemoryToProto(const planner::MemoryEstimate& m, spindle::v1::MemoryEstimate* out) {
  out->set_weights(m.weights);
  out->set_gradients(m.gradients);
  out->set_optimizer(m.optimizer);
  out->set_activations(m.activations);
  out->set_logits(m.logits);
  out->set_workspace(m.workspace);
  out->set_total(m.total);
  out->set_capacity(m.capacity);
}

void TimeToProto(const planner::StepTimeEstimate& t, spindle::v1::StepTimeEstimate* out) {
  out->set_compute(t.compute);
  out->set_communication(t.communication);
  out->set_overlapped(t.overlapped);
  out->set_exposed(t.exposed);
  out->set_total(t.total);
}

void RankToProto(const planner::RankPlacement& r, spindle::v1::RankAssignment* out) {
  out->set_rank(r.rank);
  out->set_worker(r.worker);
  out->set_device(r.device);
  out->set_dp(r.dp);
  out->set_ring(r.ring);
  out->set_ulysses(r.ulysses);
  out->set_first_q_head(r.first_q_head);
  out->set_num_q_heads(r.num_q_heads);
  out->set_first_kv_head(r.first_kv_head);
  out->set_num_kv_heads(r.num_kv_heads);
  for (const auto& [begin, end] : r.token_ranges) {
    spindle::v1::TokenRange* range = out->add_token_ranges();
    range->set_begin(begin);
    range->set_end(end);
  }
}

}  // namespace

void ToProto(const planner::Candidate& c, spindle::v1::PlanCandidate* out) {
  out->Clear();
  out->set_nodes(c.nodes);
  out->set_devices_per_node(c.devices_per_node);
  out->set_dp(c.dp);
  out->set_ulysses(c.ulysses);
  out->set_ring(c.ring);
  out->set_feasible(c.feasible);
  out->set_verdict(c.verdict);
  MemoryToProto(c.memory, out->mutable_memory());
  TimeToProto(c.time, out->mutable_time());
  for (const planner::TrafficEstimate& t : c.traffic) {
    spindle::v1::TrafficEstimate* traffic = out->add_traffic();
    traffic->set_group(t.group);
    traffic->set_inter_node(t.inter_node);
    traffic->set_bytes(t.bytes);
    traffic->set_seconds(t.seconds);
  }
  out->set_mfu(c.mfu);
  out->set_tokens_per_second(c.tokens_per_second);
}

void ToProto(const planner::Plan& plan, const config::JobSpec& spec, spindle::v1::Plan* out) {
  out->Clear();
  ToProto(plan.chosen, out->mutable_chosen());
  out->set_world_size(plan.world());
  out->set_layout(layout::LayoutName(plan.layout));
  out->set_seq_len(plan.seq_len);
  out->set_padded_len(plan.padded_len);
  out->set_global_batch_seqs(plan.global_batch_seqs);
  out->set_micro_batch_seqs(plan.micro_batch_seqs);
  out->set_grad_accum_steps(plan.grad_accum_steps);
  for (const planner::RankPlacement& r : plan.ranks) RankToProto(r, out->add_ranks());
  for (const planner::Candidate& c : plan.alternatives) ToProto(c, out->add_alternatives());
  for (const std::string& note : plan.notes) out->add_notes(note);
  out->set_explanation(planner::ExplainPlan(plan, spec));
}

}  // namespace spindle::service
