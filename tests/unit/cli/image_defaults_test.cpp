#include "cli/posix/image_defaults.hpp"

#include <gtest/gtest.h>

namespace microagent::cli {
namespace {

image::ImageConfig nginx_like() {
  image::ImageConfig config;
  config.entrypoint = {"/entry.sh"};
  config.cmd = {"serve", "--port", "80"};
  config.env = {"PATH=/usr/bin:/bin", "MODE=prod"};
  config.working_dir = "/srv";
  config.user = "app";
  return config;
}

TEST(ImageDefaults, ImageConfigDrivesAnEmptyCommandLine) {
  auto out = apply_image_config(nginx_like(), {}, true);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->argv, (std::vector<std::string>{"/entry.sh", "serve", "--port", "80"}));
  EXPECT_EQ(out->workdir, "/srv");
  EXPECT_EQ(out->user, "app");
  EXPECT_EQ(out->env, nginx_like().env);
}

TEST(ImageDefaults, ArgumentsReplaceCmdNotEntrypoint) {
  WorkloadOverrides overrides;
  overrides.command = {"check"};
  overrides.env = {"MODE=dev"};
  overrides.workdir = "/tmp";
  overrides.user = "0:0";
  auto out = apply_image_config(nginx_like(), overrides, true);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->argv, (std::vector<std::string>{"/entry.sh", "check"}));
  EXPECT_EQ(out->env.back(), "MODE=dev");  // later entries win when the request is built
  EXPECT_EQ(out->workdir, "/tmp");
  EXPECT_EQ(out->user, "0:0");
}

TEST(ImageDefaults, EntrypointOverrideDropsCmd) {
  WorkloadOverrides cleared;
  cleared.entrypoint = std::vector<std::string>{};
  cleared.command = {"/bin/sh", "-c", "true"};
  auto out = apply_image_config(nginx_like(), cleared, true);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->argv, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  WorkloadOverrides replaced;
  replaced.entrypoint = std::vector<std::string>{"/bin/true"};
  out = apply_image_config(nginx_like(), replaced, true);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->argv, (std::vector<std::string>{"/bin/true"}));
}

TEST(ImageDefaults, NothingToRunIsAnErrorOnlyForRun) {
  image::ImageConfig bare;
  EXPECT_EQ(apply_image_config(bare, {}, true).error().code, ErrorCode::invalid_request);
  auto started = apply_image_config(bare, {}, false);
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->argv.empty());
  EXPECT_EQ(started->workdir, "/");
}

}  // namespace
}  // namespace microagent::cli
