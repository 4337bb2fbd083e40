#pragma once
// expect_clean's body: which exceptions count as a clean refusal.
#include <c10/util/Exception.h>

#include <new>
#include <stdexcept>

#include "app/config/config.h"
#include "jeffreys/data/errors.h"
#include "jeffreys/train/errors.h"

namespace jeffreys::fuzz {

template <class Read>
void expect_clean(Read&& read, const std::vector<std::string>& where) {
  try {
    read();
  } catch (const data::DataError& e) {
    check_message("DataError", e.what(), where);
  } catch (const app::ConfigError& e) {
    check_message("ConfigError", e.what(), where);
  } catch (const train::CheckpointError& e) {
    check_message("CheckpointError", e.what(), where);
  } catch (const std::invalid_argument& e) {
    check_message("std::invalid_argument", e.what(), where);
  } catch (const c10::Error& e) {
    finding(std::string("LibTorch error reached the caller unexplained: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    finding("allocation failure: an input size was not bounded before allocating");
  } catch (const std::exception& e) {
    finding(std::string("unexpected exception: ") + e.what());
  }
}

}  // namespace jeffreys::fuzz
