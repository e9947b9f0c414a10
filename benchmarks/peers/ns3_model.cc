// The ns-3 side of the vidnet-sim peer comparison, compiled at run time by cppyy
// (`cppyy.cppdef`) inside the process that imported the ns-3 Python bindings.
//
// Everything that runs per packet is C++ (sending, receiving, drop accounting): a Python
// callback per packet would dominate ns-3's run time. Python only passes arrays in and reads
// arrays out (see ns3_run.py).
//
// Model: nodes joined by PointToPoint links (DataRate, Delay), each device with its own
// ns3::DropTailQueue<Packet> counted in packets; the InternetStack with NO queue disc (the
// FqCoDel root queue disc that Ipv4AddressHelper::Assign installs is removed again), global
// (shortest path) routing, one UDP socket per flow. A packet's size on the wire is its UDP
// payload + 8 (UDP) + 20 (IPv4) + 2 (PPP).
//
// Times: the caller sets Time::SetResolution(Time::PS) before building; all times given to
// and returned by this model are integer picoseconds (Time::GetTimeStep()).

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vidnet_peer
{
using namespace ns3;

// At an instant t, vidnet-sim completes every transmission that ends at t before it offers
// the packets arriving at t to the queues (rule 4). Stock ns-3 does not guarantee that:
//  - events of the same instant run in the order they were scheduled, so a packet that
//    reaches a node at t may be offered to the device before the transmission ending at t
//    completes (the Receive was scheduled when the upstream transmission started, the
//    TransmitComplete when the local one started);
//  - even after the completion, NetDeviceQueue::PacketDequeued wakes a stopped device
//    queue only in a ScheduleNow event, so until that event runs the traffic-control layer
//    still sees the queue as stopped (full) and drops the arriving packet.
// kDeferHops ScheduleNow hops put an action behind both: behind every event already
// scheduled for t (one hop) and behind the wake-up that a completion at t schedules (two).
static const int kDeferHops = 2;

template <typename F>
void
DeferNow(int hops, F f)
{
    if (hops <= 0)
    {
        f();
        return;
    }
    Simulator::ScheduleNow([hops, f]() { DeferNow(hops - 1, f); });
}

// A point-to-point channel that delivers a packet at the same simulated time as the stock
// channel, but kDeferHops ScheduleNow hops later (see above). Used only for the "deferred
// arrivals" runs, to show that the order of events at equal times is the whole difference;
// everything else is stock ns-3.
class DeferredArrivalChannel : public PointToPointChannel
{
  public:
    bool TransmitStart(Ptr<const Packet> p, Ptr<PointToPointNetDevice> src, Time txTime) override
    {
        uint32_t wire = (src == GetSource(0)) ? 0 : 1;
        Ptr<PointToPointNetDevice> dst = GetDestination(wire);
        Simulator::ScheduleWithContext(dst->GetNode()->GetId(), txTime + GetDelay(),
                                       &DeferredArrivalChannel::Deliver, dst, p->Copy());
        return true;
    }

    static void Deliver(Ptr<PointToPointNetDevice> dst, Ptr<Packet> p)
    {
        DeferNow(kDeferHops, [dst, p]() { dst->Receive(p); });
    }
};

class Model
{
  public:
    // --- building ---------------------------------------------------------------------
    void AddNodes(uint32_t n)
    {
        m_nodes.Create(n);
    }

    // Use DeferredArrivalChannel instead of the stock PointToPointChannel for later links.
    void SetDeferArrivals(bool on)
    {
        m_deferArrivals = on;
    }

    // A duplex point-to-point link a <-> b. qa / qb: DropTail capacity (packets) of the
    // device queue at a (towards b) and at b (towards a).
    void AddLink(uint32_t a, uint32_t b, uint64_t rateBps, int64_t propPs, uint32_t qa,
                 uint32_t qb)
    {
        PointToPointHelper p2p;
        p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(rateBps)));
        p2p.SetChannelAttribute("Delay", TimeValue(PicoSeconds(propPs)));
        p2p.SetQueue("ns3::DropTailQueue<Packet>");
        NetDeviceContainer devs = p2p.Install(m_nodes.Get(a), m_nodes.Get(b));
        if (m_deferArrivals)
        {
            // re-attach both devices to a DeferredArrivalChannel (the stock one stays unused)
            Ptr<DeferredArrivalChannel> ch = CreateObject<DeferredArrivalChannel>();
            ch->SetAttribute("Delay", TimeValue(PicoSeconds(propPs)));
            for (uint32_t k = 0; k < 2; ++k)
            {
                DynamicCast<PointToPointNetDevice>(devs.Get(k))->Attach(ch);
            }
        }
        SetQueuePackets(devs.Get(0), qa);
        SetQueuePackets(devs.Get(1), qb);
        m_links.push_back(devs);
    }

    // Internet stack, one /30 per link, no queue disc, sinks, drop traces. Routes: static
    // host routes added with AddHostRoute (globalRouting = false) or ns-3's global routing
    // (shortest paths, globalRouting = true).
    void Finalize(uint16_t port, bool globalRouting)
    {
        m_port = port;
        InternetStackHelper stack;
        stack.Install(m_nodes);
        TrafficControlHelper tch;
        for (size_t i = 0; i < m_links.size(); ++i)
        {
            uint32_t base = (10u << 24) + 4u * static_cast<uint32_t>(i);
            Ipv4AddressHelper addr;
            addr.SetBase(Ipv4Address(base), Ipv4Mask("255.255.255.252"));
            addr.Assign(m_links[i]);
            // Assign installs the default FqCoDel root queue disc on each device: remove it,
            // so that the device's DropTail queue is the only buffer.
            tch.Uninstall(m_links[i]);
        }
        if (globalRouting)
        {
            Ipv4GlobalRoutingHelper::PopulateRoutingTables();
        }
        for (uint32_t n = 0; n < m_nodes.GetN(); ++n)
        {
            Ptr<Node> node = m_nodes.Get(n);
            Ptr<TrafficControlLayer> tc = node->GetObject<TrafficControlLayer>();
            if (!tc || !tc->TraceConnectWithoutContext(
                           "TcDrop", MakeBoundCallback(&Model::OnTcDrop, this, n)))
            {
                throw std::runtime_error("cannot connect TrafficControlLayer/TcDrop");
            }
            for (uint32_t d = 0; d < node->GetNDevices(); ++d)
            {
                Ptr<PointToPointNetDevice> dev =
                    DynamicCast<PointToPointNetDevice>(node->GetDevice(d));
                if (!dev)
                {
                    continue; // the loopback device
                }
                if (!dev->GetQueue()->TraceConnectWithoutContext(
                        "Drop", MakeBoundCallback(&Model::OnQueueDrop, this, n)))
                {
                    throw std::runtime_error("cannot connect DropTailQueue/Drop");
                }
            }
        }
        m_sinkOf.assign(m_nodes.GetN(), Ptr<Socket>());
    }

    // On `node`, send packets for `dstNode` over link `link` (its index in AddLink order):
    // a static host route to dstNode's first address, via the far end of that link.
    void AddHostRoute(uint32_t node, uint32_t link, uint32_t dstNode)
    {
        NetDeviceContainer& devs = m_links.at(link);
        uint32_t side = (devs.Get(0)->GetNode()->GetId() == m_nodes.Get(node)->GetId()) ? 0 : 1;
        Ptr<NetDevice> here = devs.Get(side);
        Ptr<NetDevice> there = devs.Get(1 - side);
        Ptr<Ipv4> ip = m_nodes.Get(node)->GetObject<Ipv4>();
        Ptr<Ipv4> farIp = there->GetNode()->GetObject<Ipv4>();
        int32_t ifHere = ip->GetInterfaceForDevice(here);
        int32_t ifThere = farIp->GetInterfaceForDevice(there);
        if (ifHere < 0 || ifThere < 0)
        {
            throw std::runtime_error("AddHostRoute: device without an IPv4 interface");
        }
        Ipv4Address nextHop = farIp->GetAddress(ifThere, 0).GetLocal();
        Ipv4Address to = m_nodes.Get(dstNode)->GetObject<Ipv4>()->GetAddress(1, 0).GetLocal();
        Ipv4StaticRoutingHelper helper;
        helper.GetStaticRouting(ip)->AddHostRouteTo(to, nextHop, ifHere);
    }

    // A flow from node src to node dst: returns its index.
    int AddFlow(uint32_t src, uint32_t dst)
    {
        if (!m_sinkOf[dst])
        {
            Ptr<Socket> sink = Socket::CreateSocket(m_nodes.Get(dst), UdpSocketFactory::GetTypeId());
            if (sink->Bind(InetSocketAddress(Ipv4Address::GetAny(), m_port)) != 0)
            {
                throw std::runtime_error("cannot bind the sink socket");
            }
            sink->SetRecvCallback(MakeCallback(&Model::OnRecv, this));
            m_sinkOf[dst] = sink;
        }
        Ptr<Ipv4> ip = m_nodes.Get(dst)->GetObject<Ipv4>();
        Ipv4Address to = ip->GetAddress(1, 0).GetLocal(); // interface 0 is the loopback
        Ptr<Socket> s = Socket::CreateSocket(m_nodes.Get(src), UdpSocketFactory::GetTypeId());
        if (s->Connect(InetSocketAddress(to, m_port)) != 0)
        {
            throw std::runtime_error("cannot connect a source socket");
        }
        m_flowSocket.push_back(s);
        return static_cast<int>(m_flowSocket.size()) - 1;
    }

    // --- traffic ----------------------------------------------------------------------
    // Replay: n packets sorted by (time, flow, seq); payload = UDP payload bytes.
    void SetPackets(const int64_t* t, const int64_t* payload, const int64_t* flow, size_t n)
    {
        m_t.assign(t, t + n);
        m_payload.assign(payload, payload + n);
        m_flow.assign(flow, flow + n);
        m_mode = 0;
    }

    // ns-3's own Poisson source on one flow: exponential gaps (ExponentialRandomVariable,
    // mean in ps, each gap rounded to a whole ps), fixed payload, from `start` to `end`.
    void SetPoisson(int flow, double meanGapPs, uint32_t payload, int64_t startPs, int64_t endPs,
                    uint32_t seed, uint64_t run)
    {
        RngSeedManager::SetSeed(seed);
        RngSeedManager::SetRun(run);
        m_exp = CreateObject<ExponentialRandomVariable>();
        m_exp->SetAttribute("Mean", DoubleValue(meanGapPs));
        m_poissonFlow = flow;
        m_poissonPayload = payload;
        m_poissonNext = startPs + static_cast<int64_t>(std::llround(m_exp->GetValue()));
        m_poissonEnd = endPs;
        m_mode = 1;
        m_t.clear();
        m_payload.clear();
        m_flow.clear();
    }

    // --- running ----------------------------------------------------------------------
    double Run()
    {
        m_next = 0;
        if (m_mode == 0)
        {
            m_recv.assign(m_t.size(), -1);
            m_dropNode.assign(m_t.size(), -1);
            if (!m_t.empty())
            {
                Simulator::Schedule(PicoSeconds(m_t[0]), &Model::Wake, this);
            }
        }
        else if (m_poissonNext < m_poissonEnd)
        {
            Simulator::Schedule(PicoSeconds(m_poissonNext), &Model::Wake, this);
        }
        auto w0 = std::chrono::steady_clock::now();
        Simulator::Run();
        auto w1 = std::chrono::steady_clock::now();
        return std::chrono::duration<double>(w1 - w0).count();
    }

    void Destroy()
    {
        m_flowSocket.clear();
        m_sinkOf.clear();
        m_links.clear();
        m_exp = nullptr;
        Simulator::Destroy();
    }

    // --- results ----------------------------------------------------------------------
    size_t NumPackets() const
    {
        return m_t.size();
    }

    uint64_t NumEvents() const
    {
        return Simulator::GetEventCount();
    }

    // out arrays of NumPackets(): send time, UDP payload, flow, delivery time (-1: not
    // delivered), node where dropped (-1: not dropped).
    void Results(int64_t* t, int64_t* payload, int64_t* flow, int64_t* recv, int64_t* dropNode) const
    {
        for (size_t i = 0; i < m_t.size(); ++i)
        {
            t[i] = m_t[i];
            payload[i] = m_payload[i];
            flow[i] = m_flow[i];
            recv[i] = m_recv[i];
            dropNode[i] = m_dropNode[i];
        }
    }

    uint64_t Unmatched() const
    {
        return m_unmatched;
    }

    // drops seen by the traffic-control layer (device queue stopped) and by the queue itself
    uint64_t TcDrops() const
    {
        return m_tcDrops;
    }

    uint64_t QueueDrops() const
    {
        return m_queueDrops;
    }

  private:
    static void SetQueuePackets(Ptr<NetDevice> d, uint32_t packets)
    {
        Ptr<PointToPointNetDevice> dev = DynamicCast<PointToPointNetDevice>(d);
        dev->GetQueue()->SetMaxSize(QueueSize(QueueSizeUnit::PACKETS, packets));
    }

    // The sends of time t are deferred by kDeferHops ScheduleNow hops, so that transmissions
    // that end at t complete (and their queues wake up) before the packets emitted at t
    // arrive: vidnet-sim's rule 4 for the packets that enter the network at t.
    void Wake()
    {
        DeferNow(kDeferHops, [this]() { SendDue(); });
    }

    void SendDue()
    {
        int64_t now = Simulator::Now().GetTimeStep();
        if (m_mode == 0)
        {
            size_t n = m_t.size();
            while (m_next < n && m_t[m_next] == now)
            {
                SendOne(m_next, m_flow[m_next], m_payload[m_next]);
                ++m_next;
            }
            if (m_next < n)
            {
                Simulator::Schedule(PicoSeconds(m_t[m_next] - now), &Model::Wake, this);
            }
        }
        else
        {
            while (m_poissonNext == now)
            {
                size_t i = m_t.size();
                m_t.push_back(now);
                m_payload.push_back(m_poissonPayload);
                m_flow.push_back(m_poissonFlow);
                m_recv.push_back(-1);
                m_dropNode.push_back(-1);
                SendOne(i, m_poissonFlow, m_poissonPayload);
                m_poissonNext += static_cast<int64_t>(std::llround(m_exp->GetValue()));
            }
            if (m_poissonNext < m_poissonEnd)
            {
                Simulator::Schedule(PicoSeconds(m_poissonNext - now), &Model::Wake, this);
            }
        }
    }

    void SendOne(size_t i, int64_t flow, int64_t payload)
    {
        Ptr<Packet> p = Create<Packet>(static_cast<uint32_t>(payload));
        uint64_t uid = p->GetUid();
        if (uid >= m_idxOfUid.size())
        {
            m_idxOfUid.resize(std::max<size_t>(uid + 1, 2 * m_idxOfUid.size()), -1);
        }
        m_idxOfUid[uid] = static_cast<int64_t>(i);
        m_flowSocket[flow]->Send(p);
    }

    int64_t IndexOf(Ptr<const Packet> p)
    {
        uint64_t uid = p->GetUid();
        if (uid < m_idxOfUid.size() && m_idxOfUid[uid] >= 0)
        {
            return m_idxOfUid[uid];
        }
        ++m_unmatched;
        return -1;
    }

    void OnRecv(Ptr<Socket> s)
    {
        Ptr<Packet> p;
        while ((p = s->Recv()))
        {
            int64_t i = IndexOf(p);
            if (i >= 0)
            {
                m_recv[i] = Simulator::Now().GetTimeStep();
            }
        }
    }

    static void OnTcDrop(Model* self, uint32_t node, Ptr<const Packet> p)
    {
        ++self->m_tcDrops;
        self->Dropped(node, p);
    }

    static void OnQueueDrop(Model* self, uint32_t node, Ptr<const Packet> p)
    {
        ++self->m_queueDrops;
        self->Dropped(node, p);
    }

    void Dropped(uint32_t node, Ptr<const Packet> p)
    {
        int64_t i = IndexOf(p);
        if (i >= 0)
        {
            m_dropNode[i] = node;
        }
    }

    NodeContainer m_nodes;
    std::vector<NetDeviceContainer> m_links;
    std::vector<Ptr<Socket>> m_flowSocket;
    std::vector<Ptr<Socket>> m_sinkOf;
    uint16_t m_port{9};
    bool m_deferArrivals{false};
    int m_mode{0};
    std::vector<int64_t> m_t, m_payload, m_flow, m_recv, m_dropNode;
    std::vector<int64_t> m_idxOfUid;
    size_t m_next{0};
    uint64_t m_unmatched{0};
    uint64_t m_tcDrops{0};
    uint64_t m_queueDrops{0};
    Ptr<ExponentialRandomVariable> m_exp;
    int m_poissonFlow{0};
    uint32_t m_poissonPayload{0};
    int64_t m_poissonNext{0}, m_poissonEnd{0};
};

} // namespace vidnet_peer
