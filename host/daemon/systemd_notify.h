// sd_notify(3) for kilnd under systemd (Type=notify): READY, RELOADING,
// STOPPING, WATCHDOG. Outside systemd every call is a no-op.
#ifndef KILN_HOST_DAEMON_SYSTEMD_NOTIFY_H_
#define KILN_HOST_DAEMON_SYSTEMD_NOTIFY_H_

#include <chrono>
#include <optional>
#include <string>

namespace kiln {

void NotifyReady(const std::string& status);
void NotifyReloading();
void NotifyStopping();
void NotifyWatchdog();
// Half the watchdog interval systemd asked for (WatchdogSec=), if any.
std::optional<std::chrono::microseconds> WatchdogPeriod();

}  // namespace kiln

#endif  // KILN_HOST_DAEMON_SYSTEMD_NOTIFY_H_
