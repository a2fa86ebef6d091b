// expect: RewardModel must provide `double score
#include <aitl/concepts.hpp>
struct not_a_reward_model {
    double score(std::string_view) const { return 0.0; }
};
int main() {
    aitl::require_reward_scorer<not_a_reward_model>();
}
